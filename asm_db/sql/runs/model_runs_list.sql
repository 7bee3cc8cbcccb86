-- Runs, newest first; promoted_at is when one of the run's maps was last promoted, and shown
-- says whether the promoted map is the run's. The training features' summary (thousands of
-- numbers, for `asmdb predict`) is left out of the metrics.
SELECT r.run_id, r.created_at,
       (SELECT max(m.promoted_at) FROM asmdb.maps AS m WHERE m.run_id = r.run_id) AS promoted_at,
       r.run_id IS NOT DISTINCT FROM asmdb.promoted_run() AS shown,
       fs.name, coalesce(r.protocol, 'seed'), coalesce(r.model_name, 'ridge'), r.parameters,
       r.metrics - 'feature_summary' AS metrics, r.counts, r.data_fingerprint, r.code_version,
       r.library_versions, r.area_estimate
FROM asmdb.model_runs AS r
JOIN asmdb.feature_sets AS fs USING (feature_set_id)
WHERE %(run_id)s::integer IS NULL OR r.run_id = %(run_id)s::integer
ORDER BY r.run_id DESC;
