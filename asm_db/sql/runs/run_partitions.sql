-- The partitions of asmdb.predictions that hold the maps of a run, found by their bounds.
SELECT n.nspname, c.relname
FROM asmdb.maps AS m
JOIN pg_inherits AS i ON i.inhparent = 'asmdb.predictions'::regclass
JOIN pg_class AS c ON c.oid = i.inhrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE m.run_id = %(run_id)s
  AND pg_get_expr(c.relpartbound, c.oid) = 'FOR VALUES IN (' || m.map_id || ')'
ORDER BY m.map_id;
