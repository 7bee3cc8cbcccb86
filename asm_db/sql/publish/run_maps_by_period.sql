-- Every map of a run with its feature set's period and grid, oldest period first.
SELECT m.map_id, fs.name, fs.period_start, fs.period_end, fs.feature_set_id,
       m.map_id = ANY (asmdb.promoted_maps()) AS promoted
FROM asmdb.maps AS m
JOIN asmdb.feature_sets AS fs USING (feature_set_id)
WHERE m.run_id = %(run_id)s
ORDER BY fs.period_start NULLS FIRST, fs.period_end NULLS FIRST, m.map_id;
