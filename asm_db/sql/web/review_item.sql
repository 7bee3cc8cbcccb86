-- One review item's current answer.
SELECT review_id, run_id, tile_id, stratum, reason, probability, status, reviewer,
       reviewed_at, notes, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom)
FROM asmdb.review_queue
WHERE review_id = %(review_id)s AND change_id IS NULL;
