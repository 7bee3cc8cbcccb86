-- Tile ids that cut one feature set's tiles into equal parts, one per prediction reader.
SELECT percentile_disc(%(fractions)s::float8[]) WITHIN GROUP (ORDER BY tile_id)
FROM asmdb.tile_features
WHERE feature_set_id = %(feature_set_id)s;
