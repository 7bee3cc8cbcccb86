-- One tile of a shown map, for the web page's popup: its probability, run, period and centre.
-- The map is the promoted map of the newest period (latest_predictions), or `map_id` when it
-- is the promoted map of its period (maps_by_period): never a map that is not shown.
SELECT p.tile_id, p.probability, p.run_id, t.lon, t.lat, p.map_id, fs.period_start,
       fs.period_end
FROM asmdb.predictions AS p
JOIN asmdb.maps AS m ON m.map_id = p.map_id
JOIN asmdb.feature_sets AS fs ON fs.feature_set_id = m.feature_set_id
JOIN asmdb.tiles AS t ON t.tile_id = p.tile_id
WHERE p.tile_id = %(tile_id)s
  AND p.map_id = coalesce(%(map_id)s::integer, (SELECT asmdb.promoted_map()))
  AND p.map_id = ANY ((SELECT asmdb.promoted_maps())::integer[]);
