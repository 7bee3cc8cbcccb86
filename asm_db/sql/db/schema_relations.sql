-- The tables and views of the asmdb schema (partitions are their parent's), by name.
SELECT c.relname, c.relkind::text, obj_description(c.oid, 'pg_class')
FROM pg_class AS c
WHERE c.relnamespace = 'asmdb'::regnamespace
  AND c.relkind IN ('r', 'p', 'v')
  AND NOT c.relispartition
ORDER BY c.relname;
