-- The partitions of asmdb.change_tiles of the changes made from or to any of `map_ids`: a
-- deleted map takes its changes with it (ON DELETE CASCADE), and their partitions go too.
SELECT n.nspname, c.relname
FROM asmdb.changes AS ch
JOIN pg_inherits AS i ON i.inhparent = 'asmdb.change_tiles'::regclass
JOIN pg_class AS c ON c.oid = i.inhrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE (ch.from_map = ANY (%(map_ids)s::integer[]) OR ch.to_map = ANY (%(map_ids)s::integer[]))
  AND pg_get_expr(c.relpartbound, c.oid) = 'FOR VALUES IN (' || ch.change_id || ')'
ORDER BY ch.change_id;
