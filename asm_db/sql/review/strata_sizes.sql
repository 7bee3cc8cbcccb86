-- Each probability class of a map (1-based; the classes' lower bounds are bound, see
-- asm_db.probability_classes): its tile count and area (km2), the mapped ASM area, and its
-- tiles' mean probability weighted by area (the model-assisted estimate's auxiliary).
SELECT width_bucket(probability, %(class_lower_bounds)s::float8[]) AS class, count(*),
       sum(ST_Area(geom::geography)) / 1e6 AS area_km2,
       sum(ST_Area(geom::geography)) FILTER (WHERE probability >= %(threshold)s) / 1e6 AS mapped_km2,
       sum(ST_Area(geom::geography) * probability) / sum(ST_Area(geom::geography))
           AS mean_probability
FROM asmdb.predictions WHERE map_id = %(map_id)s
GROUP BY 1 ORDER BY 1;
