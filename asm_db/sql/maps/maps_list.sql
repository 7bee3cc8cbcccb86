-- Maps, newest first, with their run, feature set and period; `promoted`: the promoted map of
-- its period (asmdb.maps_by_period shows it); `shown`: the one asmdb.latest_predictions shows.
SELECT m.map_id, m.run_id, fs.name AS feature_set, fs.period_start, fs.period_end,
       m.created_at, m.promoted_at,
       m.map_id = ANY (asmdb.promoted_maps()) AS promoted,
       m.map_id IS NOT DISTINCT FROM asmdb.promoted_map() AS shown,
       m.tiles, m.counts, r.feature_set_id = m.feature_set_id AS own_feature_set,
       coalesce(r.model_name, 'ridge') AS model
FROM asmdb.maps AS m
JOIN asmdb.feature_sets AS fs USING (feature_set_id)
JOIN asmdb.model_runs AS r ON r.run_id = m.run_id
WHERE %(map_id)s::integer IS NULL OR m.map_id = %(map_id)s::integer
ORDER BY m.map_id DESC;
