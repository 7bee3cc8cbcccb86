-- The feature set a run was trained on: what its model takes, and the set's featurizer
-- identity (asm_db.maps.identity): source, featurize parameters (NULL: ingested from a file),
-- a digest of its filter bank (not the bank itself) and its tile size.
SELECT fs.feature_set_id, fs.name, fs.n_features, fs.feature_names, fs.source,
       fs.provenance -> 'parameters' AS parameters,
       encode(sha256(convert_to((fs.provenance -> 'filters')::text, 'UTF8')), 'hex')
           AS filters_digest,
       g.cell_size
FROM asmdb.model_runs AS r
JOIN asmdb.feature_sets AS fs USING (feature_set_id)
LEFT JOIN asmdb.grids AS g ON g.grid_id = fs.grid_id
WHERE r.run_id = %(run_id)s;
