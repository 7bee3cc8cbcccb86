-- Up to %(tiles)s vectors of one feature set, to summarise its features: the tiles first in
-- the order of a hash of their id, so the same tiles every time, spread over the whole set.
COPY (
    SELECT tile_id, features
    FROM asmdb.tile_features
    WHERE feature_set_id = %(feature_set_id)s
      AND tile_id IN (
          SELECT tile_id
          FROM asmdb.tile_features
          WHERE feature_set_id = %(feature_set_id)s
          ORDER BY hashint8(tile_id), tile_id
          LIMIT %(tiles)s
      )
    ORDER BY tile_id
) TO STDOUT (FORMAT BINARY)
