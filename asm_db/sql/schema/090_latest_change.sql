-- The newest change map (`asmdb change`), one row per tile. Key: tile_id.
CREATE OR REPLACE FUNCTION asmdb.latest_change_id()
RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT max(change_id) FROM asmdb.changes
$$;

-- The function is called in a scalar subquery: evaluated once per query (an InitPlan that also
-- prunes partitions when the query starts), not once per row as a bare STABLE call would be.
CREATE OR REPLACE VIEW asmdb.latest_change AS
SELECT
    c.tile_id,
    c.change_id,
    c.p_from,
    c.p_to,
    c.delta,
    c.class,
    c.area_km2,
    c.geom,
    fa.period_start AS from_period_start,
    fa.period_end AS from_period_end,
    fb.period_start AS to_period_start,
    fb.period_end AS to_period_end
FROM asmdb.change_tiles AS c
JOIN asmdb.changes AS ch ON ch.change_id = c.change_id
JOIN asmdb.maps AS ma ON ma.map_id = ch.from_map
JOIN asmdb.feature_sets AS fa ON fa.feature_set_id = ma.feature_set_id
JOIN asmdb.maps AS mb ON mb.map_id = ch.to_map
JOIN asmdb.feature_sets AS fb ON fb.feature_set_id = mb.feature_set_id
WHERE c.change_id = (SELECT asmdb.latest_change_id());

COMMENT ON VIEW asmdb.latest_change IS
    'The newest change map: new, gone, persistent, absent, no_data per tile. QGIS key: tile_id.';

COMMENT ON FUNCTION asmdb.latest_change_id() IS 'The newest change map (highest change_id).';
COMMENT ON COLUMN asmdb.latest_change.tile_id IS 'The tile (unique in the view).';
COMMENT ON COLUMN asmdb.latest_change.change_id IS 'The newest change map.';
COMMENT ON COLUMN asmdb.latest_change.p_from IS 'Probability in the earlier map.';
COMMENT ON COLUMN asmdb.latest_change.p_to IS 'Probability in the later map.';
COMMENT ON COLUMN asmdb.latest_change.delta IS 'p_to minus p_from.';
COMMENT ON COLUMN asmdb.latest_change.class IS 'new, gone, persistent, absent or no_data.';
COMMENT ON COLUMN asmdb.latest_change.area_km2 IS 'The tile''s area on the ellipsoid, km2.';
COMMENT ON COLUMN asmdb.latest_change.geom IS 'The tile''s outline.';
COMMENT ON COLUMN asmdb.latest_change.from_period_start IS 'The earlier map''s period: its start.';
COMMENT ON COLUMN asmdb.latest_change.from_period_end IS 'The earlier map''s period: its end.';
COMMENT ON COLUMN asmdb.latest_change.to_period_start IS 'The later map''s period: its start.';
COMMENT ON COLUMN asmdb.latest_change.to_period_end IS 'The later map''s period: its end.';
