-- Where the staged labels fall: how many lie on some feature set's tile, and how many would
-- with lon and lat swapped (a label file's most plausible mistake). `tiled` is false while no
-- feature set has tiles: then there is nothing to check against.
SELECT
    EXISTS (SELECT 1 FROM asmdb.tiles) AS tiled,
    count(*) AS labels,
    count(*) FILTER (
        WHERE EXISTS (
            SELECT 1 FROM asmdb.tiles AS t
            WHERE ST_Intersects(t.geom, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326))
        )
    ) AS inside,
    count(*) FILTER (
        WHERE EXISTS (
            SELECT 1 FROM asmdb.tiles AS t
            WHERE ST_Intersects(t.geom, ST_SetSRID(ST_MakePoint(s.lat, s.lon), 4326))
        )
    ) AS inside_swapped
FROM labels_stage AS s;
