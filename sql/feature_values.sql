-- A few features of every tile of a feature set (1-based indices), in one pass over the vectors.
SELECT f.tile_id, ARRAY(SELECT f.features[i] FROM unnest(%(indices)s::int[]) AS i)
FROM asmdb.tile_features AS f
JOIN asmdb.model_runs AS r USING (feature_set_id)
WHERE r.run_id = %(run_id)s;
