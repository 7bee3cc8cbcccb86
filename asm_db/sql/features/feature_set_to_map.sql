-- A feature set by name, with its vector length, feature names, tile count and featurizer
-- identity (as run_model_feature_set.sql reads it).
SELECT fs.feature_set_id, fs.name, fs.n_features, fs.feature_names,
       (SELECT count(*) FROM asmdb.tile_features AS f
        WHERE f.feature_set_id = fs.feature_set_id) AS tiles,
       fs.source,
       fs.provenance -> 'parameters' AS parameters,
       encode(sha256(convert_to((fs.provenance -> 'filters')::text, 'UTF8')), 'hex')
           AS filters_digest,
       g.cell_size
FROM asmdb.feature_sets AS fs
LEFT JOIN asmdb.grids AS g ON g.grid_id = fs.grid_id
WHERE fs.name = %(name)s;
