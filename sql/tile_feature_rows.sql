-- Every tile's feature vector in one feature set, streamed in key order for prediction.
COPY (
    SELECT tile_id, features
    FROM asmdb.tile_features
    WHERE feature_set_id = %(feature_set_id)s
    ORDER BY tile_id
) TO STDOUT (FORMAT BINARY)
