-- How many tiles of a change's review sample are queued already; the change's row is locked
-- until commit, so two draws for one change at once queue one sample, not two.
SELECT (SELECT count(*) FROM asmdb.review_queue AS q WHERE q.change_id = c.change_id)
FROM asmdb.changes AS c
WHERE c.change_id = %(change_id)s
FOR UPDATE;
