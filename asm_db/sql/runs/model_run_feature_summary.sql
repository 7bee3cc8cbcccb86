-- What `asmdb predict` checks a feature set against: the run's summary of its training
-- features (null for runs recorded before summaries were), and the asmdb that trained it.
SELECT metrics -> 'feature_summary', code_version
FROM asmdb.model_runs
WHERE run_id = %(run_id)s;
