COPY predictions_stage (tile_id, score, probability) FROM STDIN (FORMAT BINARY)
