SELECT r.run_id, r.created_at, fs.name, r.parameters, r.metrics, r.counts
FROM asmdb.model_runs AS r
JOIN asmdb.feature_sets AS fs USING (feature_set_id)
ORDER BY r.run_id DESC;
