-- Create the grid tiles that do not exist yet: each is its centre buffered by %(half)s degrees
-- with square caps, as ingested MOSAIKS tiles are. Existing tiles are left as they are.
-- Returns how many tiles were new.
WITH added AS (
    INSERT INTO asmdb.tiles (tile_id, lat, lon, geom)
    SELECT
        t.tile_id,
        t.lat,
        t.lon,
        ST_MakeEnvelope(t.lon - %(half)s, t.lat - %(half)s, t.lon + %(half)s, t.lat + %(half)s, 4326)
    FROM unnest(%(tile_ids)s::bigint[], %(lat)s::float8[], %(lon)s::float8[]) AS t (tile_id, lat, lon)
    ORDER BY t.tile_id
    ON CONFLICT (tile_id) DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM added;
