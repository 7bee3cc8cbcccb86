-- Take the staged reviews into asmdb.review_queue in one statement (a review_id given twice:
-- its last row wins). A change row takes its two answers, and its status follows from them:
-- unclear when either is, pending until both are given (or unclear, if the file says so), else
-- the later period's. Only rows the file changes are written. Returns ('missing', row) for
-- each file row whose review_id is not in the queue, and ('changed', n): the reviews changed.
WITH latest AS (
    SELECT DISTINCT ON (review_id) *
    FROM review_stage
    ORDER BY review_id, row_number DESC
),
incoming AS (
    SELECT q.review_id,
           CASE
               WHEN q.change_id IS NULL THEN s.status
               WHEN 'unclear' IN (s.answer_from, s.answer_to) THEN 'unclear'
               WHEN s.answer_from IS NOT NULL AND s.answer_to IS NOT NULL THEN s.answer_to
               WHEN s.status = 'unclear' THEN 'unclear'
               ELSE 'pending'
           END AS status,
           s.answer_from, s.answer_to, s.reviewer, s.notes,
           s.reviewed_at::timestamptz AS reviewed_at
    FROM latest AS s
    JOIN asmdb.review_queue AS q ON q.review_id = s.review_id
),
updated AS (
    UPDATE asmdb.review_queue AS q
    SET status = i.status, answer_from = i.answer_from, answer_to = i.answer_to,
        reviewer = i.reviewer, notes = i.notes,
        reviewed_at = coalesce(i.reviewed_at, q.reviewed_at, now())
    FROM incoming AS i
    WHERE q.review_id = i.review_id
      AND ((q.status, q.answer_from, q.answer_to, q.reviewer, q.notes)
               IS DISTINCT FROM (i.status, i.answer_from, i.answer_to, i.reviewer, i.notes)
           OR (i.reviewed_at IS NOT NULL AND i.reviewed_at IS DISTINCT FROM q.reviewed_at))
    RETURNING q.review_id
)
SELECT 'missing' AS kind, s.row_number AS n
FROM review_stage AS s
WHERE NOT EXISTS (SELECT 1 FROM asmdb.review_queue AS q WHERE q.review_id = s.review_id)
UNION ALL
SELECT 'changed', count(*) FROM updated
ORDER BY 1, 2;
