-- The promoted map's predictions (see promoted_map.sql). tile_id is unique within a map, so it
-- is the layer's key. A map is written and promoted in one transaction and the view is read in
-- one snapshot, so it never shows a half-written map, nor two maps at once.
-- The function is called in a scalar subquery: evaluated once per query (an InitPlan that also
-- prunes partitions when the query starts), not once per row as a bare STABLE call would be.
CREATE OR REPLACE VIEW asmdb.latest_predictions AS
SELECT
    p.tile_id,
    p.map_id,
    p.run_id,
    p.score,
    p.probability,
    p.geom
FROM asmdb.predictions AS p
WHERE p.map_id = (SELECT asmdb.promoted_map());

COMMENT ON VIEW asmdb.latest_predictions IS
    'The promoted map''s calibrated probability per tile. QGIS key: tile_id (int8, unique).';

COMMENT ON COLUMN asmdb.latest_predictions.tile_id IS 'The tile (unique in the view).';
COMMENT ON COLUMN asmdb.latest_predictions.map_id IS 'The promoted map.';
COMMENT ON COLUMN asmdb.latest_predictions.run_id IS 'The run whose model made the map.';
COMMENT ON COLUMN asmdb.latest_predictions.score IS 'The model''s raw score.';
COMMENT ON COLUMN asmdb.latest_predictions.probability IS 'The calibrated probability of mining, 0 to 1.';
COMMENT ON COLUMN asmdb.latest_predictions.geom IS 'The tile''s outline.';
