-- Staged review rows whose answers do not fit the kind of their queue row: a map row answers
-- in status, a change row in answer_from and answer_to. Returns the file row, the kind of
-- problem and the column to name.
SELECT s.row_number, p.kind, p.column_name
FROM review_stage AS s
JOIN asmdb.review_queue AS q ON q.review_id = s.review_id
CROSS JOIN LATERAL (
    SELECT 'answer on a map review', CASE WHEN s.answer_from IS NOT NULL THEN 'answer_from'
                                          ELSE 'answer_to' END
    WHERE q.change_id IS NULL AND (s.answer_from IS NOT NULL OR s.answer_to IS NOT NULL)
    UNION ALL
    SELECT 'no status', 'status'
    WHERE q.change_id IS NULL AND s.status IS NULL
    UNION ALL
    SELECT 'status on a change review', 'answer_from'
    WHERE q.change_id IS NOT NULL AND s.status IN ('confirmed', 'rejected')
      AND s.answer_from IS NULL AND s.answer_to IS NULL
) AS p(kind, column_name)
ORDER BY p.kind, s.row_number;
