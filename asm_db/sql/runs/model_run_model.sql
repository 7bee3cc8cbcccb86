-- A run's stored model and the format it says it is in.
SELECT model, model_format FROM asmdb.model_runs WHERE run_id = %(run_id)s
