-- A change's review sample: each tile's stratum (its change class), reference class (null
-- until both periods are answered confirmed or rejected) and area (km2, on the ellipsoid).
SELECT q.stratum, q.reference_class, c.area_km2
FROM asmdb.review_queue AS q
JOIN asmdb.change_tiles AS c ON c.change_id = q.change_id AND c.tile_id = q.tile_id
WHERE q.change_id = %(change_id)s;
