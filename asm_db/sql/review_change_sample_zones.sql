-- A change's review sample with the zone (change_zones_stage) holding each tile's centre: its
-- stratum, reference class (null until answered) and area (km2); zone null outside every zone.
SELECT q.stratum, q.reference_class, c.area_km2, z.zone
FROM asmdb.review_queue AS q
JOIN asmdb.change_tiles AS c ON c.change_id = q.change_id AND c.tile_id = q.tile_id
LEFT JOIN LATERAL (
    SELECT s.zone FROM change_zones_stage AS s
    WHERE ST_Intersects(s.geom, ST_Centroid(c.geom))
    ORDER BY s.zone
    LIMIT 1
) AS z ON true
WHERE q.change_id = %(change_id)s;
