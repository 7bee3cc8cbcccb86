-- Centres and bounds of some tiles, for showing search results on the web map.
SELECT tile_id, lon, lat, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom)
FROM asmdb.tiles
WHERE tile_id = ANY(%(tile_ids)s::bigint[]);
