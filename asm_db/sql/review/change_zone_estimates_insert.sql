-- One zone's mapped and estimated area of one change class (the estimate null with too few
-- reviews).
INSERT INTO asmdb.change_zone_estimates
    (zone_id, class, mapped_km2, mapped_tiles, area_km2, low, high)
VALUES (%(zone_id)s, %(class)s, %(mapped_km2)s, %(mapped_tiles)s, %(area_km2)s, %(low)s, %(high)s);
