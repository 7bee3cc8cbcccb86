-- The promoted map of every period (see promoted_map.sql), one row per (map, tile): QGIS's
-- temporal layer (period_start/period_end) and the web map's period slider. Key: map_tile_id.
-- The function is called in a scalar subquery: evaluated once per query (an InitPlan that also
-- prunes partitions when the query starts), not once per row as a bare STABLE call would be.
CREATE OR REPLACE VIEW asmdb.maps_by_period AS
SELECT
    p.map_tile_id,
    p.tile_id,
    p.map_id,
    fs.period_start,
    fs.period_end,
    p.probability,
    p.geom
FROM asmdb.predictions AS p
JOIN asmdb.maps AS m ON m.map_id = p.map_id
JOIN asmdb.feature_sets AS fs ON fs.feature_set_id = m.feature_set_id
WHERE p.map_id = ANY ((SELECT asmdb.promoted_maps())::integer[]);

COMMENT ON VIEW asmdb.maps_by_period IS
    'The promoted map of every period. QGIS key: map_tile_id (int8, unique).';

COMMENT ON COLUMN asmdb.maps_by_period.map_tile_id IS 'Unique key of the (map, tile) row.';
COMMENT ON COLUMN asmdb.maps_by_period.tile_id IS 'The tile.';
COMMENT ON COLUMN asmdb.maps_by_period.map_id IS 'The period''s promoted map.';
COMMENT ON COLUMN asmdb.maps_by_period.period_start IS 'First day of the map''s period.';
COMMENT ON COLUMN asmdb.maps_by_period.period_end IS 'Last day of the map''s period.';
COMMENT ON COLUMN asmdb.maps_by_period.probability IS 'The calibrated probability of mining, 0 to 1.';
COMMENT ON COLUMN asmdb.maps_by_period.geom IS 'The tile''s outline.';
