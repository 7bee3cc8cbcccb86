-- The periods a review file shows, each with the map it comes from: a map's queue, its map's
-- (role 'map'); a change's sample, its two maps' ('from', then 'to'). A period is its map's
-- feature set's.
SELECT r.role, m.map_id, f.period_start, f.period_end
FROM (
    SELECT 'map' AS role, %(map_id)s::integer AS map_id, 0 AS k
    WHERE %(change_id)s::integer IS NULL
    UNION ALL
    SELECT v.role, v.map_id, v.k
    FROM asmdb.changes AS c
    CROSS JOIN LATERAL (VALUES ('from', c.from_map, 1), ('to', c.to_map, 2)) AS v (role, map_id, k)
    WHERE c.change_id = %(change_id)s::integer
) AS r
JOIN asmdb.maps AS m ON m.map_id = r.map_id
JOIN asmdb.feature_sets AS f ON f.feature_set_id = m.feature_set_id
ORDER BY r.k;
