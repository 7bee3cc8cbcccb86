-- The feature set to search: the one named, else the promoted run's, else the newest with
-- vectors.
SELECT fs.feature_set_id, fs.name, fs.n_features
FROM asmdb.feature_sets AS fs
WHERE (%(name)s::text IS NOT NULL AND fs.name = %(name)s::text)
   OR (%(name)s::text IS NULL AND EXISTS (
          SELECT 1 FROM asmdb.tile_features AS f WHERE f.feature_set_id = fs.feature_set_id))
ORDER BY (fs.feature_set_id = (
              SELECT r.feature_set_id FROM asmdb.model_runs AS r
              WHERE r.run_id = asmdb.promoted_run())) DESC NULLS LAST,
         fs.feature_set_id DESC
LIMIT 1;
