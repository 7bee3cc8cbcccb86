-- The columns of the asmdb schema's tables and views, in table order.
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), col_description(c.oid, a.attnum)
FROM pg_class AS c
JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'asmdb'::regnamespace
  AND c.relkind IN ('r', 'p', 'v')
  AND NOT c.relispartition
ORDER BY c.relname, a.attnum;
