-- The maps that deleting a feature set removes: its own and those of runs trained on it.
SELECT m.map_id
FROM asmdb.maps AS m
JOIN asmdb.feature_sets AS f ON f.name = %(name)s
LEFT JOIN asmdb.model_runs AS r ON r.run_id = m.run_id
WHERE m.feature_set_id = f.feature_set_id OR r.feature_set_id = f.feature_set_id;
