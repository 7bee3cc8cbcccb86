-- The grid of one cell size and origin (EPSG:4326), recorded first if it is new. A grid's id
-- is part of every tile id on it, so an existing grid is looked up before anything is
-- inserted (an INSERT .. ON CONFLICT would use up an id each time).
WITH found AS (
    SELECT grid_id, cell_size, origin_lon, origin_lat
    FROM asmdb.grids
    WHERE cell_size = %(cell_size)s
      AND origin_lon = %(origin_lon)s
      AND origin_lat = %(origin_lat)s
      AND srid = 4326
),
added AS (
    INSERT INTO asmdb.grids (cell_size, origin_lon, origin_lat, srid)
    SELECT %(cell_size)s, %(origin_lon)s, %(origin_lat)s, 4326
    WHERE NOT EXISTS (SELECT 1 FROM found)
    RETURNING grid_id, cell_size, origin_lon, origin_lat
)
SELECT * FROM found
UNION ALL
SELECT * FROM added;
