-- Upsert the file's tiles: each is its centre buffered by %(half)s degrees with square caps,
-- the seed's point.buffer(half, cap_style=3), as an envelope with the same float arithmetic.
-- Returns how many tiles were new.
WITH merged AS (
    INSERT INTO asmdb.tiles AS t (tile_id, image_id, lat, lon, geom)
    SELECT
        asmdb.tile_id(s.lat, s.lon),
        s.image_id,
        s.lat,
        s.lon,
        ST_MakeEnvelope(s.lon - %(half)s, s.lat - %(half)s, s.lon + %(half)s, s.lat + %(half)s, 4326)
    FROM features_stage AS s
    ON CONFLICT (tile_id) DO UPDATE
        SET image_id = coalesce(EXCLUDED.image_id, t.image_id),
            lat = EXCLUDED.lat,
            lon = EXCLUDED.lon,
            geom = EXCLUDED.geom
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) FROM merged;
