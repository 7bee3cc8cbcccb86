-- The tiles a run's map review queue holds already, with their reason.
SELECT tile_id, reason
FROM asmdb.review_queue
WHERE run_id = %(run_id)s AND change_id IS NULL;
