-- A run's predictions, each with its tile's polygon, so QGIS draws them with no join.
INSERT INTO {partition} (run_id, tile_id, score, probability, geom)
SELECT {run_id}, s.tile_id, s.score, s.probability, t.geom
FROM predictions_stage AS s
JOIN asmdb.tiles AS t USING (tile_id);
