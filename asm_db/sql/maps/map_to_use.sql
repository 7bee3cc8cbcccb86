-- The map asked for: by id; else the map a run made on its own feature set (the newest);
-- else the promoted map. No row when there is none.
SELECT m.map_id, m.run_id
FROM asmdb.maps AS m
JOIN asmdb.model_runs AS r ON r.run_id = m.run_id
WHERE CASE
    WHEN %(map_id)s::integer IS NOT NULL THEN m.map_id = %(map_id)s::integer
    WHEN %(run_id)s::integer IS NOT NULL THEN m.run_id = %(run_id)s::integer
    ELSE m.map_id = asmdb.promoted_map()
END
ORDER BY (m.feature_set_id = r.feature_set_id) DESC, m.map_id DESC
LIMIT 1;
