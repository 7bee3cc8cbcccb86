-- Rows of one review file (validated in Python), to update asmdb.review_queue from in one
-- statement; dropped at commit. `row_number` is the file's 1-based data row, for messages.
CREATE TEMPORARY TABLE review_stage (
    row_number integer NOT NULL,
    review_id numeric NOT NULL,
    status text NOT NULL,
    reviewer text,
    reviewed_at text,
    notes text
) ON COMMIT DROP;
