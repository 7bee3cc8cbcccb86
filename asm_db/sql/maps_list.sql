-- Maps, newest first, with their run and feature set. A feature set's period is read through
-- to_jsonb so this works whether or not feature_sets has period columns.
SELECT m.map_id, m.run_id, fs.name AS feature_set,
       (to_jsonb(fs) ->> 'period_start')::date AS period_start,
       (to_jsonb(fs) ->> 'period_end')::date AS period_end,
       m.created_at, m.promoted_at, m.map_id IS NOT DISTINCT FROM asmdb.promoted_map() AS promoted,
       m.tiles, m.counts, r.feature_set_id = m.feature_set_id AS own_feature_set,
       coalesce(r.model_name, 'ridge') AS model
FROM asmdb.maps AS m
JOIN asmdb.feature_sets AS fs USING (feature_set_id)
JOIN asmdb.model_runs AS r ON r.run_id = m.run_id
WHERE %(map_id)s::integer IS NULL OR m.map_id = %(map_id)s::integer
ORDER BY m.map_id DESC;
