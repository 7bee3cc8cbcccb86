-- A map's predictions, each with its tile's polygon, so QGIS draws them with no join.
INSERT INTO {partition} (map_id, run_id, tile_id, score, probability, geom)
SELECT {map_id}, {run_id}, s.tile_id, s.score, s.probability, t.geom
FROM predictions_stage AS s
JOIN asmdb.tiles AS t USING (tile_id);
