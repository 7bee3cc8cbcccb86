-- Rows of one review file (validated in Python), to update asmdb.review_queue from in one
-- statement; dropped at commit. `row_number` is the file's 1-based data row, for messages;
-- tile_id, run_id and change_id, when the file has them, must be those of the queue row.
-- status is null only where the row answers a change (answer_from, answer_to).
CREATE TEMPORARY TABLE review_stage (
    row_number integer NOT NULL,
    review_id numeric NOT NULL,
    status text,
    reviewer text,
    reviewed_at text,
    notes text,
    answer_from text,
    answer_to text,
    tile_id numeric,
    run_id numeric,
    change_id numeric
) ON COMMIT DROP;
