-- The tiles of a change's review sample, each with its stratum and its reference class (null
-- until both periods are answered confirmed or rejected).
SELECT tile_id, stratum, reference_class
FROM asmdb.review_queue
WHERE change_id = %(change_id)s
ORDER BY tile_id;
