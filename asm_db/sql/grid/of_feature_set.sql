-- The grid whose cells a feature set's tiles are.
SELECT g.grid_id, g.cell_size, g.origin_lon, g.origin_lat
FROM asmdb.feature_sets AS fs
JOIN asmdb.grids AS g USING (grid_id)
WHERE fs.feature_set_id = %(feature_set_id)s;
