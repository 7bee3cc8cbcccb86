SELECT tile_id, probability FROM asmdb.predictions WHERE run_id = %(run_id)s;
