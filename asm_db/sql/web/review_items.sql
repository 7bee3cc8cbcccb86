-- The review queue of a run (default: the promoted one) as the web page walks it.
SELECT review_id, run_id, tile_id, stratum, reason, probability, status, reviewer,
       reviewed_at, notes, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom)
FROM asmdb.review_queue
WHERE run_id = coalesce(%(run_id)s::integer, asmdb.promoted_run())
  AND change_id IS NULL  -- a change's sample is answered per period, in its review file
ORDER BY review_id;
