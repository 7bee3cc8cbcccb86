-- The promoted map's overview blocks (asm_db/maps/overviews.py), for the web map's country
-- zooms: `probability_mean` is the block's mean tile probability (its colour class, as
-- latest_predictions' classes), `probability` its highest (blocks holding a tile of 0.8 or more
-- are outlined); `cells` is the block's size in grid cells (filter on it).
-- The function is called in a scalar subquery: evaluated once per query (an InitPlan that also
-- prunes partitions when the query starts), not once per row as a bare STABLE call would be.
CREATE OR REPLACE VIEW asmdb.latest_overviews AS
SELECT
    o.overview_id,
    o.map_id,
    o.cells,
    o.tiles,
    o.tiles_at_least_half,
    o.probability,
    o.probability_mean,
    o.geom
FROM asmdb.map_overviews AS o
WHERE o.map_id = (SELECT asmdb.promoted_map());

COMMENT ON VIEW asmdb.latest_overviews IS
    'The promoted map aggregated into blocks of cells x cells tiles (max and mean probability). '
    'QGIS key: overview_id (int8, unique).';

COMMENT ON COLUMN asmdb.latest_overviews.overview_id IS 'The block (unique).';
COMMENT ON COLUMN asmdb.latest_overviews.map_id IS 'The promoted map.';
COMMENT ON COLUMN asmdb.latest_overviews.cells IS 'Side of the block, in grid cells.';
COMMENT ON COLUMN asmdb.latest_overviews.tiles IS 'Predicted tiles in the block.';
COMMENT ON COLUMN asmdb.latest_overviews.tiles_at_least_half IS 'Tiles in the block with probability 0.5 or more.';
COMMENT ON COLUMN asmdb.latest_overviews.probability IS 'Highest tile probability in the block.';
COMMENT ON COLUMN asmdb.latest_overviews.probability_mean IS 'Mean tile probability in the block.';
COMMENT ON COLUMN asmdb.latest_overviews.geom IS 'The block''s outline.';
