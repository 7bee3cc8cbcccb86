UPDATE asmdb.model_runs SET promoted_at = clock_timestamp() WHERE run_id = %(run_id)s
RETURNING run_id;
