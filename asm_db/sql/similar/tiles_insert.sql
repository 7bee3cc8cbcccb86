-- The results of one search, best first, with each tile's polygon for the map.
INSERT INTO asmdb.similar_tiles (query_id, rank, tile_id, similarity, geom)
SELECT %(query_id)s, r.rank, r.tile_id, r.similarity, t.geom
FROM unnest(%(tile_ids)s::bigint[], %(similarities)s::float8[])
     WITH ORDINALITY AS r(tile_id, similarity, rank)
JOIN asmdb.tiles AS t USING (tile_id)
ORDER BY r.rank;
