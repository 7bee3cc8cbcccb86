COPY asmdb.run_evaluations (run_id, label_id, tile_id, fold, label, score, raw_probability,
                            probability)
FROM STDIN (FORMAT BINARY)
