-- What a feature set's vectors are now: tile count and a digest of every row version (xmin
-- changes whenever a vector is rewritten), so a cached copy is used only while it is current.
SELECT fs.n_features, count(f.tile_id),
       md5(coalesce(string_agg(f.tile_id::text || ':' || f.xmin::text, ',' ORDER BY f.tile_id), ''))
FROM asmdb.feature_sets AS fs
LEFT JOIN asmdb.tile_features AS f USING (feature_set_id)
WHERE fs.feature_set_id = %(feature_set_id)s
GROUP BY fs.n_features;
