SELECT label, score, raw_probability, probability, fold
FROM asmdb.run_evaluations WHERE run_id = %(run_id)s
ORDER BY label_id, tile_id;
