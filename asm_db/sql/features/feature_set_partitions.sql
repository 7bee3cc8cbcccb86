-- The partitions of asmdb.predictions that deleting a feature set empties: those of its maps
-- and of every map made by a run trained on it.
SELECT n.nspname, c.relname
FROM asmdb.maps AS m
JOIN asmdb.feature_sets AS f ON f.name = %(name)s
JOIN pg_inherits AS i ON i.inhparent = 'asmdb.predictions'::regclass
JOIN pg_class AS c ON c.oid = i.inhrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE (m.feature_set_id = f.feature_set_id
       OR m.run_id IN (SELECT r.run_id FROM asmdb.model_runs AS r
                       WHERE r.feature_set_id = f.feature_set_id))
  AND pg_get_expr(c.relpartbound, c.oid) = 'FOR VALUES IN (' || m.map_id || ')'
ORDER BY m.map_id;
