-- The imagery a tile names, read as the visitor (whose role may read it, or not): what
-- identifies this registration of its name, and its footprint and bands.
SELECT imagery_id, created_at, name,
       ARRAY[ST_XMin(footprint), ST_YMin(footprint), ST_XMax(footprint), ST_YMax(footprint)]
           AS bounds,
       bands
FROM asmdb.imagery
WHERE name = %(name)s
