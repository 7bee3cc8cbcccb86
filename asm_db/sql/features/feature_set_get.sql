-- One feature set by name, with its provenance and whether it is complete.
SELECT feature_set_id, name, n_features, feature_names, complete, provenance
FROM asmdb.feature_sets
WHERE name = %(name)s;
