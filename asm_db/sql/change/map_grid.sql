-- The grid a map's tiles are cells of.
SELECT fs.grid_id FROM asmdb.maps AS m
JOIN asmdb.feature_sets AS fs USING (feature_set_id)
WHERE m.map_id = %(map_id)s;
