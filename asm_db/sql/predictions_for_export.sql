-- One run's predictions with their tile polygons, for export.
SELECT p.tile_id, p.run_id, t.image_id, p.score, p.probability, p.geom
FROM asmdb.predictions AS p
JOIN asmdb.tiles AS t USING (tile_id)
WHERE p.run_id = %(run_id)s
ORDER BY p.tile_id;
