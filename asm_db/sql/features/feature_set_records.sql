-- Feature sets with their identity (asm_db.features.record.FeatureSet), newest first: the one
-- named, the one of an id, the one a run was trained on, or (all NULL) every set. Each row says
-- whether the set has vectors and whether it is the promoted run's.
SELECT fs.feature_set_id, fs.name, fs.n_features, fs.feature_names, fs.source,
       fs.provenance -> 'parameters' AS parameters,
       encode(sha256(convert_to((fs.provenance -> 'filters')::text, 'UTF8')), 'hex')
           AS filters_digest,
       g.cell_size, fs.grid_id, fs.period_start, fs.period_end, fs.complete,
       EXISTS (SELECT 1 FROM asmdb.tile_features AS f
               WHERE f.feature_set_id = fs.feature_set_id) AS has_vectors,
       coalesce(fs.feature_set_id = (SELECT r.feature_set_id FROM asmdb.model_runs AS r
                                     WHERE r.run_id = asmdb.promoted_run()), false) AS promoted
FROM asmdb.feature_sets AS fs
LEFT JOIN asmdb.grids AS g ON g.grid_id = fs.grid_id
WHERE (%(name)s::text IS NULL OR fs.name = %(name)s::text)
  AND (%(feature_set_id)s::numeric IS NULL OR fs.feature_set_id = %(feature_set_id)s::numeric)
  AND (%(run_id)s::numeric IS NULL OR fs.feature_set_id IN (
          SELECT r.feature_set_id FROM asmdb.model_runs AS r
          WHERE r.run_id = %(run_id)s::numeric))
ORDER BY fs.feature_set_id DESC;
