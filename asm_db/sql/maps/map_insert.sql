-- Record a map; the caller's transaction writes its partition and decides whether it is seen.
INSERT INTO asmdb.maps (run_id, feature_set_id, promoted_at, tiles, counts)
VALUES (%(run_id)s, %(feature_set_id)s, CASE WHEN %(promote)s THEN clock_timestamp() END,
        %(tiles)s, %(counts)s)
RETURNING map_id, created_at;
