-- The feature set a run was trained on: what its model takes.
SELECT fs.feature_set_id, fs.name, fs.n_features, fs.feature_names
FROM asmdb.model_runs AS r
JOIN asmdb.feature_sets AS fs USING (feature_set_id)
WHERE r.run_id = %(run_id)s;
