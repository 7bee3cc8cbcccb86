-- The feature vectors of one feature set's tiles in [low, high), streamed in key order for
-- prediction (one range per reader).
COPY (
    SELECT tile_id, features
    FROM asmdb.tile_features
    WHERE feature_set_id = %(feature_set_id)s
      AND tile_id >= %(low)s AND tile_id < %(high)s
    ORDER BY tile_id
) TO STDOUT (FORMAT BINARY)
