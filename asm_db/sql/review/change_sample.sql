-- A change's review sample: each tile's stratum (its change class), reference class (null
-- until both periods are answered confirmed or rejected), area (km2, on the ellipsoid), and its
-- class and two probabilities in the change being estimated (%(map_change_id)s, the same change
-- unless its sample is reused; no_data and 0 where that change lacks the tile).
SELECT q.stratum, q.reference_class, s.area_km2, coalesce(m.class::text, 'no_data'),
       coalesce(m.p_from, 0), coalesce(m.p_to, 0)
FROM asmdb.review_queue AS q
JOIN asmdb.change_tiles AS s ON s.change_id = q.change_id AND s.tile_id = q.tile_id
LEFT JOIN asmdb.change_tiles AS m ON m.change_id = %(map_change_id)s AND m.tile_id = q.tile_id
WHERE q.change_id = %(change_id)s;
