-- A feature set by name, with its vector length, feature names and tile count.
SELECT fs.feature_set_id, fs.name, fs.n_features, fs.feature_names,
       (SELECT count(*) FROM asmdb.tile_features AS f
        WHERE f.feature_set_id = fs.feature_set_id) AS tiles
FROM asmdb.feature_sets AS fs
WHERE fs.name = %(name)s;
