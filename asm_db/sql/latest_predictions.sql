-- The promoted run's predictions (see promoted_run.sql). tile_id is unique within a run, so it
-- is the layer's key. A run is written and promoted in one transaction, so the
-- view never shows a half-written run.
CREATE OR REPLACE VIEW asmdb.latest_predictions AS
SELECT
    p.tile_id,
    p.run_id,
    p.score,
    p.probability,
    p.geom
FROM asmdb.predictions AS p
WHERE p.run_id = asmdb.promoted_run();

COMMENT ON VIEW asmdb.latest_predictions IS
    'The promoted model run''s calibrated probability per tile. QGIS key: tile_id (int8, unique).';
