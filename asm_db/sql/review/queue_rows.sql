-- One run's map review queue, for its review file.
SELECT review_id, run_id, tile_id, stratum, reason, probability, inclusion_probability, status,
       reviewer, reviewed_at, notes, geom
FROM asmdb.review_queue
WHERE run_id = %(run_id)s
  AND change_id IS NULL  -- a change's sample is exported with its own columns
ORDER BY review_id;
