-- Upsert the file's feature vectors into one feature set.
INSERT INTO asmdb.tile_features AS f (feature_set_id, tile_id, features)
SELECT %(feature_set_id)s, asmdb.tile_id(s.lat, s.lon), s.features
FROM features_stage AS s
ON CONFLICT (feature_set_id, tile_id) DO UPDATE SET features = EXCLUDED.features;
