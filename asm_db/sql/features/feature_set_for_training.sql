-- Feature sets that have vectors, newest first, to pick the one to train on.
SELECT fs.feature_set_id, fs.name, fs.n_features, fs.feature_names, fs.grid_id,
       fs.period_start, fs.period_end
FROM asmdb.feature_sets AS fs
WHERE EXISTS (SELECT 1 FROM asmdb.tile_features AS f WHERE f.feature_set_id = fs.feature_set_id)
ORDER BY fs.feature_set_id DESC;
