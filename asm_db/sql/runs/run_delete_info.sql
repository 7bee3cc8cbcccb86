-- What deleting a run takes with it: its maps (one predictions partition each), whether one of
-- them is a promoted map, its review rows, answered or pending, and the change maps made from
-- or to one of its maps, with their review samples (whose rows carry the later map's run).
WITH changes AS (
    SELECT c.change_id FROM asmdb.changes AS c
    JOIN asmdb.maps AS m ON m.map_id IN (c.from_map, c.to_map)
    WHERE m.run_id = %(run_id)s
),
reviews AS (
    SELECT q.status FROM asmdb.review_queue AS q
    WHERE q.run_id = %(run_id)s OR q.change_id IN (SELECT change_id FROM changes)
)
SELECT
    r.run_id,
    (SELECT count(*) FROM asmdb.maps AS m WHERE m.run_id = r.run_id) AS maps,
    (SELECT count(*) FROM asmdb.maps AS m
     WHERE m.run_id = r.run_id AND m.map_id = ANY (asmdb.promoted_maps()))
        AS promoted,
    (SELECT count(*) FROM reviews WHERE status <> 'pending') AS answered,
    (SELECT count(*) FROM reviews) AS queued,
    (SELECT count(DISTINCT change_id) FROM changes) AS changes
FROM asmdb.model_runs AS r
WHERE r.run_id = %(run_id)s;
