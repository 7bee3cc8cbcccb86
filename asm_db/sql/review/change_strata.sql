-- The strata of a change's review sample: each sampled change class (no_data tiles are not
-- sampled) with its tile count and area (km2, on the ellipsoid).
SELECT class, count(*), sum(area_km2)
FROM asmdb.change_tiles
WHERE change_id = %(change_id)s AND class = ANY(%(sampled_classes)s::text[])
GROUP BY class
ORDER BY array_position(%(sampled_classes)s::text[], class::text);
