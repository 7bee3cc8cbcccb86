COPY asmdb.tile_features (feature_set_id, tile_id, features) FROM STDIN (FORMAT BINARY)
