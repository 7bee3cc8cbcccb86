-- One change map's tiles with their polygons, for export (the columns are a contract).
SELECT tile_id, p_from, p_to, delta, class, area_km2, change_id, geom
FROM asmdb.change_tiles
WHERE change_id = %(change_id)s
ORDER BY tile_id;
