-- Every tile of a map with its probability, its map class (1-based; the classes' lower bounds
-- are bound, see asm_db.probability_classes), its centre, and whether a label lies within reach.
SELECT p.tile_id, p.probability, width_bucket(p.probability, %(class_lower_bounds)s::float8[]),
       t.lon, t.lat,
       EXISTS (
           SELECT 1 FROM asmdb.labels AS l
           WHERE ST_DWithin(l.geom, p.geom, %(min_label_distance)s)
       ) AS near_label
FROM asmdb.predictions AS p
JOIN asmdb.tiles AS t USING (tile_id)
WHERE p.map_id = %(map_id)s
ORDER BY p.tile_id;
