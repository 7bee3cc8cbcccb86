-- The extent of everything asmdb maps (tiles and labels), for the stored QGIS project.
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
FROM (
    SELECT ST_Extent(geom) AS e
    FROM (SELECT geom FROM asmdb.tiles UNION ALL SELECT geom FROM asmdb.labels) AS everything
) AS extent;
