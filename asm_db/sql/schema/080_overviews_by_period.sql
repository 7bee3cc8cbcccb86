-- The overview blocks (asm_db/maps/overviews.py) of the promoted map of every period, as
-- asmdb.maps_by_period holds its tiles: the web map's period layer at country zooms (filter on
-- map_id or period_start, and cells). Key: overview_id.
-- The function is called in a scalar subquery: evaluated once per query (an InitPlan that also
-- prunes partitions when the query starts), not once per row as a bare STABLE call would be.
CREATE OR REPLACE VIEW asmdb.overviews_by_period AS
SELECT
    o.overview_id,
    o.map_id,
    fs.period_start,
    fs.period_end,
    o.cells,
    o.tiles,
    o.tiles_at_least_half,
    o.probability,
    o.probability_mean,
    o.geom
FROM asmdb.map_overviews AS o
JOIN asmdb.maps AS m ON m.map_id = o.map_id
JOIN asmdb.feature_sets AS fs ON fs.feature_set_id = m.feature_set_id
WHERE o.map_id = ANY ((SELECT asmdb.promoted_maps())::integer[]);

COMMENT ON VIEW asmdb.overviews_by_period IS
    'The promoted map of every period aggregated into blocks of cells x cells tiles. '
    'QGIS key: overview_id (int8, unique).';

COMMENT ON COLUMN asmdb.overviews_by_period.overview_id IS 'The block (unique).';
COMMENT ON COLUMN asmdb.overviews_by_period.map_id IS 'The period''s promoted map.';
COMMENT ON COLUMN asmdb.overviews_by_period.period_start IS 'First day of the map''s period.';
COMMENT ON COLUMN asmdb.overviews_by_period.period_end IS 'Last day of the map''s period.';
COMMENT ON COLUMN asmdb.overviews_by_period.cells IS 'Side of the block, in grid cells.';
COMMENT ON COLUMN asmdb.overviews_by_period.tiles IS 'Predicted tiles in the block.';
COMMENT ON COLUMN asmdb.overviews_by_period.tiles_at_least_half IS 'Tiles in the block with probability 0.5 or more.';
COMMENT ON COLUMN asmdb.overviews_by_period.probability IS 'Highest tile probability in the block.';
COMMENT ON COLUMN asmdb.overviews_by_period.probability_mean IS 'Mean tile probability in the block.';
COMMENT ON COLUMN asmdb.overviews_by_period.geom IS 'The block''s outline.';
