SELECT review_id, run_id, tile_id, stratum, reason, probability, inclusion_probability, status,
       reviewer, reviewed_at, notes, geom
FROM asmdb.review_queue
WHERE %(run_id)s::integer IS NULL OR run_id = %(run_id)s::integer
ORDER BY review_id;
