-- Staged review rows that would change an answer someone else gave (see
-- review_stage_incoming.sql): the file row and the stored answer's reviewer (null: unnamed).
SELECT row_number, answered_by
FROM review_incoming
WHERE changes AND replaces_another
ORDER BY row_number;
