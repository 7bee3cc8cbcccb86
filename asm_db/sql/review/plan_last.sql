-- The last sample plan of a change (or of a map): its id and its sizes per stratum.
SELECT plan_id, sample_sizes
FROM asmdb.review_plans
WHERE change_id = %(change_id)s OR map_id = %(map_id)s
ORDER BY plan_id DESC
LIMIT 1;
