-- What each staged review row would store in asmdb.review_queue, with its queue row locked
-- until commit (an answer from the web page waits). A change row takes its two answers, and
-- its status follows from them: unclear when either is, pending until both are given (or
-- unclear, if the file says so), else the later period's. `changes`: the row says something
-- the queue row does not; `replaces_another`: the queue row is answered (a status other than
-- pending, or a period's answer) by someone other than the row's reviewer (a row naming no
-- reviewer, or an answer naming none, is no one's); `answered_by`: the stored reviewer.
-- Rows whose review_id is not in the queue are left out. Dropped at commit.
CREATE TEMPORARY TABLE review_incoming ON COMMIT DROP AS
WITH queued AS (
    SELECT q.review_id, q.change_id, q.status, q.answer_from, q.answer_to, q.reviewer, q.notes,
           q.reviewed_at
    FROM asmdb.review_queue AS q
    WHERE q.review_id IN (SELECT review_id FROM review_stage)
    FOR NO KEY UPDATE
),
incoming AS (
    SELECT s.row_number, q.review_id,
           CASE
               WHEN q.change_id IS NULL THEN s.status
               WHEN 'unclear' IN (s.answer_from, s.answer_to) THEN 'unclear'
               WHEN s.answer_from IS NOT NULL AND s.answer_to IS NOT NULL THEN s.answer_to
               WHEN s.status = 'unclear' THEN 'unclear'
               ELSE 'pending'
           END AS status,
           s.answer_from, s.answer_to, s.reviewer, s.notes,
           s.reviewed_at::timestamptz AS reviewed_at
    FROM review_stage AS s
    JOIN queued AS q ON q.review_id = s.review_id
)
SELECT i.*,
       (q.status, q.answer_from, q.answer_to, q.reviewer, q.notes)
           IS DISTINCT FROM (i.status, i.answer_from, i.answer_to, i.reviewer, i.notes)
       OR (i.reviewed_at IS NOT NULL AND i.reviewed_at IS DISTINCT FROM q.reviewed_at)
           AS changes,
       (q.status <> 'pending' OR q.answer_from IS NOT NULL OR q.answer_to IS NOT NULL)
       AND (i.reviewer = q.reviewer) IS NOT TRUE AS replaces_another,
       q.reviewer AS answered_by
FROM incoming AS i
JOIN queued AS q ON q.review_id = i.review_id;
