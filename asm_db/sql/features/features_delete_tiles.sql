-- The vectors this file replaces: its tiles' rows in the feature set being loaded.
DELETE FROM asmdb.tile_features AS f
USING features_stage AS s
WHERE f.feature_set_id = %(feature_set_id)s
  AND f.tile_id = s.tile_id;
