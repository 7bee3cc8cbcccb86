-- The tiles a feature set already has a vector for (what a resumed featurize skips).
SELECT tile_id FROM asmdb.tile_features WHERE feature_set_id = %(feature_set_id)s;
