-- Every feature set with its size, origin and state, oldest first.
SELECT
    fs.name,
    fs.n_features,
    (SELECT count(*) FROM asmdb.tile_features AS f WHERE f.feature_set_id = fs.feature_set_id),
    coalesce(fs.provenance ->> 'made_by', ''),
    coalesce(fs.provenance -> 'parameters' ->> 'method', ''),
    coalesce(fs.source, ''),
    fs.period_start,
    fs.period_end,
    fs.complete,
    fs.created_at
FROM asmdb.feature_sets AS fs
ORDER BY fs.feature_set_id;
