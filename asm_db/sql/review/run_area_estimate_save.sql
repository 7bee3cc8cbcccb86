UPDATE asmdb.model_runs SET area_estimate = %(estimate)s WHERE run_id = %(run_id)s;
