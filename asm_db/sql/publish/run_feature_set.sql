-- The feature set a run was trained on, and its vector length.
SELECT fs.feature_set_id, fs.n_features
FROM asmdb.model_runs AS r
JOIN asmdb.feature_sets AS fs USING (feature_set_id)
WHERE r.run_id = %(run_id)s;
