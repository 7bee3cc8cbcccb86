-- Take the staged reviews into asmdb.review_queue in one statement, from what
-- review_stage_incoming.sql worked out: only rows the file changes are written, at the time
-- the file gives, else now (a replaced answer is a new one, for `reviews_to_labels`). Returns
-- ('missing', row) for each file row whose review_id is not in the queue, and ('changed', n):
-- the reviews changed.
WITH updated AS (
    UPDATE asmdb.review_queue AS q
    SET status = i.status, answer_from = i.answer_from, answer_to = i.answer_to,
        reviewer = i.reviewer, notes = i.notes,
        reviewed_at = coalesce(i.reviewed_at, now())
    FROM review_incoming AS i
    WHERE q.review_id = i.review_id AND i.changes
    RETURNING q.review_id
)
SELECT 'missing' AS kind, s.row_number AS n
FROM review_stage AS s
WHERE NOT EXISTS (SELECT 1 FROM asmdb.review_queue AS q WHERE q.review_id = s.review_id)
UNION ALL
SELECT 'changed', count(*) FROM updated
ORDER BY 1, 2;
