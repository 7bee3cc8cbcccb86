-- A change's review sample with every zone (change_zones_stage) holding each tile's centre:
-- its stratum, reference class (null until answered), area (km2) and zones (empty outside
-- every zone; zones may overlap, as concessions inside districts do).
SELECT q.stratum, q.reference_class, c.area_km2,
       coalesce((SELECT array_agg(DISTINCT s.zone) FROM change_zones_stage AS s
                 WHERE ST_Intersects(s.geom, ST_Centroid(c.geom))), '{}') AS zones
FROM asmdb.review_queue AS q
JOIN asmdb.change_tiles AS c ON c.change_id = q.change_id AND c.tile_id = q.tile_id
WHERE q.change_id = %(change_id)s;
