-- Delete a feature set; its vectors and the runs trained on it go with it (ON DELETE CASCADE).
-- Returns its id and how many runs were trained on it.
WITH gone AS (
    DELETE FROM asmdb.feature_sets WHERE name = %(name)s RETURNING feature_set_id
)
SELECT
    g.feature_set_id,
    (SELECT count(*) FROM asmdb.model_runs AS r WHERE r.feature_set_id = g.feature_set_id)
FROM gone AS g;
