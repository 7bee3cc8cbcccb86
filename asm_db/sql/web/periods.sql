-- The periods of asmdb.maps_by_period for the web map's slider: the promoted map of each,
-- oldest first (undated first).
SELECT m.map_id, fs.period_start, fs.period_end
FROM asmdb.maps AS m
JOIN asmdb.feature_sets AS fs ON fs.feature_set_id = m.feature_set_id
WHERE m.map_id = ANY (asmdb.promoted_maps())
ORDER BY fs.period_start NULLS FIRST, fs.period_end NULLS FIRST, m.map_id;
