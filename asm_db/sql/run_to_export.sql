-- The run to export: the one asked for, or the one latest_predictions shows.
SELECT run_id FROM asmdb.model_runs
WHERE run_id = coalesce(%(run_id)s, asmdb.promoted_run());
