-- One tile of the promoted map, for the web page's popup: its probability, run and centre.
SELECT p.tile_id, p.probability, p.run_id, t.lon, t.lat
FROM asmdb.latest_predictions AS p
JOIN asmdb.tiles AS t USING (tile_id)
WHERE p.tile_id = %(tile_id)s;
