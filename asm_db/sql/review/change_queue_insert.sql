-- Queue the drawn tiles of a change: stratum is the tile's change class, probability the
-- later map's, run the later map's.
INSERT INTO asmdb.review_queue (run_id, change_id, tile_id, stratum, reason, probability,
                                inclusion_probability, geom)
SELECT m.run_id, c.change_id, c.tile_id, c.class, %(reason)s, c.p_to, x.inclusion, c.geom
FROM unnest(%(tile_ids)s::bigint[], %(inclusion)s::float8[]) AS x(tile_id, inclusion)
JOIN asmdb.change_tiles AS c ON c.change_id = %(change_id)s AND c.tile_id = x.tile_id
JOIN asmdb.changes AS ch ON ch.change_id = c.change_id
JOIN asmdb.maps AS m ON m.map_id = ch.to_map
ON CONFLICT ON CONSTRAINT review_queue_tile_once DO NOTHING;
