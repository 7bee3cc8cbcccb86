-- A new feature set: complete at once for an ingested file (its one transaction), incomplete
-- until `asmdb featurize` has handled every tile.
INSERT INTO asmdb.feature_sets
    (name, n_features, feature_names, tile_half_size, grid_id, provenance, source, period_start,
     period_end, complete)
VALUES
    (%(name)s, %(n_features)s, %(feature_names)s, %(half)s, %(grid_id)s, %(provenance)s,
     %(source)s, %(period_start)s, %(period_end)s, %(complete)s)
RETURNING feature_set_id;
