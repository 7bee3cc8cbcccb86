INSERT INTO asmdb.feature_sets (name, n_features, feature_names, tile_half_size, grid_id)
VALUES (%(name)s, %(n_features)s, %(feature_names)s, %(tile_half_size)s, %(grid_id)s)
RETURNING feature_set_id;
