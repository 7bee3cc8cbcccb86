-- Record a change map; its tiles follow in the same transaction.
INSERT INTO asmdb.changes (from_map, to_map, threshold, min_delta, min_delta_rule)
VALUES (%(from_map)s, %(to_map)s, %(threshold)s, %(min_delta)s, %(min_delta_rule)s)
RETURNING change_id, created_at;
