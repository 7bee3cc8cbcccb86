-- A feature set by name, with its grid.
SELECT fs.feature_set_id, fs.n_features, fs.feature_names, g.grid_id, g.cell_size
FROM asmdb.feature_sets AS fs
JOIN asmdb.grids AS g USING (grid_id)
WHERE fs.name = %(name)s;
