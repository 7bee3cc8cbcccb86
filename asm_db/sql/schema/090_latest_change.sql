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
    c.geom
FROM asmdb.change_tiles AS c
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
