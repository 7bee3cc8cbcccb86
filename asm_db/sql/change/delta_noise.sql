-- The noise in p_to - p_from where a tile can cross the threshold: over the tiles of both maps
-- whose earlier probability lies within %(band)s of it, their number and the robust standard
-- deviation of the difference (1.4826 times its median absolute deviation, which the few tiles
-- that really changed do not move).
WITH near AS (
    SELECT b.probability - a.probability AS delta
    FROM asmdb.predictions AS a
    JOIN asmdb.predictions AS b ON b.map_id = %(to_map)s AND b.tile_id = a.tile_id
    WHERE a.map_id = %(from_map)s AND abs(a.probability - %(threshold)s) < %(band)s
),
centre AS (
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY delta) AS median FROM near
)
SELECT count(*) AS tiles,
       1.4826 * percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(n.delta - c.median)) AS spread
FROM near AS n
CROSS JOIN centre AS c;
