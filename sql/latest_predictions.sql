-- The newest run's predictions; tile_id is unique within a run, so it is the layer's key.
-- A run is written in one transaction, so the newest committed run is always complete.
CREATE OR REPLACE VIEW asmdb.latest_predictions AS
SELECT
    p.tile_id,
    p.run_id,
    p.score,
    p.probability,
    p.geom
FROM asmdb.predictions AS p
WHERE p.run_id = (SELECT max(run_id) FROM asmdb.model_runs);

COMMENT ON VIEW asmdb.latest_predictions IS
    'The newest model run''s calibrated probability per tile. QGIS key: tile_id (int4, unique).';
