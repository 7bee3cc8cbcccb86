-- One map's predictions with their tile polygons, for export.
SELECT p.tile_id, p.map_id, p.run_id, t.image_id, p.score, p.probability, p.geom
FROM asmdb.predictions AS p
JOIN asmdb.tiles AS t USING (tile_id)
WHERE p.map_id = %(map_id)s
ORDER BY p.tile_id;
