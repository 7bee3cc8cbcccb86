COPY review_stage (row_number, review_id, status, reviewer, reviewed_at, notes, answer_from, answer_to, tile_id, run_id, change_id) FROM STDIN
