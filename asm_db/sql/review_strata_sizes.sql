-- Each probability class of a map: its tile count and area (km2), and the mapped ASM area.
SELECT least(width_bucket(probability, 0, 1, 5), 5) AS class, count(*),
       sum(ST_Area(geom::geography)) / 1e6 AS area_km2,
       sum(ST_Area(geom::geography)) FILTER (WHERE probability >= %(threshold)s) / 1e6 AS mapped_km2
FROM asmdb.predictions WHERE map_id = %(map_id)s
GROUP BY 1 ORDER BY 1;
