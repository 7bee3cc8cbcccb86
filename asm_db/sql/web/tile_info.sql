-- One tile of a shown map, for the web page's popup: its probability, run, period and centre.
-- The map is the promoted map of the newest period (latest_predictions), or `map_id` when it
-- is the promoted map of its period (maps_by_period): never a map that is not shown. Read
-- through the public layer, so an anonymous visitor's role (it reads the layers only) may run it.
SELECT v.tile_id, v.probability, m.run_id, t.lon, t.lat, v.map_id, v.period_start,
       v.period_end
FROM asmdb.maps_by_period AS v
JOIN asmdb.maps AS m ON m.map_id = v.map_id
JOIN asmdb.tiles AS t ON t.tile_id = v.tile_id
WHERE v.tile_id = %(tile_id)s
  AND v.map_id = coalesce(%(map_id)s::integer, (SELECT asmdb.promoted_map()));
