-- What deleting a run takes with it: its maps (one predictions partition each), whether one of
-- them is the promoted map, and its review rows, answered or pending.
SELECT
    r.run_id,
    (SELECT count(*) FROM asmdb.maps AS m WHERE m.run_id = r.run_id) AS maps,
    (SELECT count(*) FROM asmdb.maps AS m
     WHERE m.run_id = r.run_id AND m.map_id = asmdb.promoted_map())
        AS promoted,
    (SELECT count(*) FROM asmdb.review_queue AS q
     WHERE q.run_id = r.run_id AND q.status <> 'pending') AS answered,
    (SELECT count(*) FROM asmdb.review_queue AS q WHERE q.run_id = r.run_id) AS queued
FROM asmdb.model_runs AS r
WHERE r.run_id = %(run_id)s;
