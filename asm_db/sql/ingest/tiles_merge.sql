-- Upsert staged tiles of one grid ({stage}: tile_id, lat, lon, image_id, the ids the grid's
-- formula gave). Each tile is its centre buffered by %(half)s degrees (half a cell) with
-- square caps, the seed's point.buffer(half, cap_style=3), as an envelope with the same float
-- arithmetic. Ids name one cell of one grid, so no other grid's tile is touched.
-- Returns how many tiles were new.
WITH merged AS (
    INSERT INTO asmdb.tiles AS t (tile_id, image_id, lat, lon, geom)
    SELECT
        s.tile_id,
        s.image_id,
        s.lat,
        s.lon,
        ST_MakeEnvelope(s.lon - %(half)s, s.lat - %(half)s, s.lon + %(half)s, s.lat + %(half)s, 4326)
    FROM {stage} AS s
    ON CONFLICT (tile_id) DO UPDATE
        SET image_id = coalesce(EXCLUDED.image_id, t.image_id),
            lat = EXCLUDED.lat,
            lon = EXCLUDED.lon,
            geom = EXCLUDED.geom
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) FROM merged;
