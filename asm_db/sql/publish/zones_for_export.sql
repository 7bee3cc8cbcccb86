-- A change's zones (`review estimate --zones`), one row per zone and change class: the estimated
-- area with its 95 percent interval (null with too few reviews), the mapped area and the
-- reviewed sample tiles in the zone.
SELECT z.zone, e.class, e.area_km2, e.low, e.high, e.mapped_km2, z.reviewed
FROM asmdb.change_zones AS z
JOIN asmdb.change_zone_estimates AS e ON e.zone_id = z.zone_id
WHERE z.change_id = %(change_id)s
ORDER BY z.zone, array_position(%(sampled_classes)s::text[], e.class);
