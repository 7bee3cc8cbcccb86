-- How many tiles have a vector in a feature set.
SELECT count(*) FROM asmdb.tile_features WHERE feature_set_id = %(feature_set_id)s;
