-- What one imagery's tiles are drawn from, and what identifies this registration of its name.
SELECT imagery_id, created_at, name,
       ARRAY[ST_XMin(footprint), ST_YMin(footprint), ST_XMax(footprint), ST_YMax(footprint)]
           AS bounds,
       bands, files, scale, "offset", stretch
FROM asmdb.imagery
WHERE name = %(name)s
