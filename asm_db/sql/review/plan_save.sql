-- Store a sample plan (asmdb review plan) of a change or of a map.
INSERT INTO asmdb.review_plans (change_id, map_id, class, target_se_km2, expected_se_km2,
                                sample_sizes, plan)
VALUES (%(change_id)s, %(map_id)s, %(class)s, %(target_se_km2)s, %(expected_se_km2)s,
        %(sample_sizes)s, %(plan)s)
RETURNING plan_id;
