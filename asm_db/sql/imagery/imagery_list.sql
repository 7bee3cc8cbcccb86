SELECT name, period_start, period_end,
       ARRAY[ST_XMin(footprint), ST_YMin(footprint), ST_XMax(footprint), ST_YMax(footprint)]
           AS bounds,
       bands, files, files_owned, scale, "offset", stretch, empty_fraction, source, item_ids,
       parameters, created_at
FROM asmdb.imagery
ORDER BY name
