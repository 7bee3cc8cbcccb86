-- Queue the chosen tiles; a tile already queued for the same run and reason keeps its review.
INSERT INTO asmdb.review_queue (run_id, tile_id, stratum, reason, probability,
                                inclusion_probability, geom)
SELECT %(run_id)s, x.tile_id, x.stratum, x.reason, p.probability, x.inclusion, p.geom
FROM unnest(%(tile_ids)s::bigint[], %(strata)s::text[], %(reasons)s::text[],
            %(inclusion)s::float8[]) AS x(tile_id, stratum, reason, inclusion)
JOIN asmdb.predictions AS p ON p.map_id = %(map_id)s AND p.tile_id = x.tile_id
ON CONFLICT ON CONSTRAINT review_queue_tile_once DO NOTHING;
