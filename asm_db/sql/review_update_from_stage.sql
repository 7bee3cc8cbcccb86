-- Take the staged reviews into asmdb.review_queue in one statement (a review_id given twice:
-- its last row wins), and return the file rows whose review_id is not in the queue. A change
-- row takes its two answers, and its status follows from them: unclear when either is,
-- pending until both are given (or unclear, if the file says so), else the later period's.
WITH latest AS (
    SELECT DISTINCT ON (review_id) *
    FROM review_stage
    ORDER BY review_id, row_number DESC
),
updated AS (
    UPDATE asmdb.review_queue AS q
    SET status = CASE
            WHEN q.change_id IS NULL THEN s.status
            WHEN 'unclear' IN (s.answer_from, s.answer_to) THEN 'unclear'
            WHEN s.answer_from IS NOT NULL AND s.answer_to IS NOT NULL THEN s.answer_to
            WHEN s.status = 'unclear' THEN 'unclear'
            ELSE 'pending'
        END,
        answer_from = s.answer_from, answer_to = s.answer_to, reviewer = s.reviewer,
        reviewed_at = coalesce(s.reviewed_at::timestamptz, q.reviewed_at, now()),
        notes = s.notes
    FROM latest AS s
    WHERE q.review_id = s.review_id
    RETURNING q.review_id
)
SELECT s.row_number
FROM review_stage AS s
WHERE NOT EXISTS (SELECT 1 FROM updated AS u WHERE u.review_id = s.review_id)
ORDER BY s.row_number;
