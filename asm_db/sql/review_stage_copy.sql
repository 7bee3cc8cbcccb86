COPY review_stage (row_number, review_id, status, reviewer, reviewed_at, notes, tile_id, run_id) FROM STDIN
