-- The promoted map's overview blocks (asm_db/maps/overviews.py), for the web map's country
-- zooms: `probability` is the block's highest tile probability, so the colour classes of
-- latest_predictions apply; `cells` is the block's size in grid cells (filter on it).
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
