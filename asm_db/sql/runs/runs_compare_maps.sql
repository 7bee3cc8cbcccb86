-- How much two probability maps differ, tile by tile, and in the map's fixed classes
-- (their lower bounds are bound, see asm_db.probability_classes).
WITH a AS (SELECT tile_id, probability FROM asmdb.predictions WHERE map_id = %(a)s),
     b AS (SELECT tile_id, probability FROM asmdb.predictions WHERE map_id = %(b)s)
SELECT
    count(*) FILTER (WHERE a.tile_id IS NOT NULL AND b.tile_id IS NOT NULL) AS common_tiles,
    count(*) FILTER (WHERE b.tile_id IS NULL) AS only_first,
    count(*) FILTER (WHERE a.tile_id IS NULL) AS only_second,
    avg(abs(a.probability - b.probability)) AS mean_abs_difference,
    max(abs(a.probability - b.probability)) AS max_abs_difference,
    corr(a.probability, b.probability) AS correlation,
    count(*) FILTER (
        WHERE width_bucket(a.probability, %(class_lower_bounds)s::float8[])
           <> width_bucket(b.probability, %(class_lower_bounds)s::float8[])
    ) AS tiles_changing_class
FROM a FULL JOIN b USING (tile_id);
