SELECT r.run_id, r.created_at, r.promoted_at, r.run_id = asmdb.promoted_run() AS shown,
       fs.name, coalesce(r.protocol, 'seed'), coalesce(r.model_name, 'ridge'), r.parameters,
       r.metrics, r.counts, r.data_fingerprint, r.code_version, r.library_versions,
       r.area_estimate
FROM asmdb.model_runs AS r
JOIN asmdb.feature_sets AS fs USING (feature_set_id)
WHERE %(run_id)s::integer IS NULL OR r.run_id = %(run_id)s::integer
ORDER BY r.run_id DESC;
