-- The registered imagery a visitor may draw, by period then name (read as the visitor's role).
SELECT name, period_start, period_end,
       ARRAY[ST_XMin(footprint), ST_YMin(footprint), ST_XMax(footprint), ST_YMax(footprint)]
           AS bounds,
       bands, imagery_id
FROM asmdb.imagery
ORDER BY period_start NULLS FIRST, period_end NULLS FIRST, name
