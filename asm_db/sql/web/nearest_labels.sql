-- The labels nearest a tile's centre (GiST nearest-neighbour order), with distance in metres.
SELECT l.label_id, l.unique_id, l.label, l.mine_type, l.sample_type,
       ST_Distance(l.geom::geography, c.centre::geography) AS metres
FROM (SELECT ST_Centroid(geom) AS centre FROM asmdb.tiles WHERE tile_id = %(tile_id)s) AS c
CROSS JOIN LATERAL (
    SELECT label_id, unique_id, label, mine_type, sample_type, geom
    FROM asmdb.labels
    ORDER BY geom <-> c.centre
    LIMIT %(limit)s
) AS l
ORDER BY metres;
