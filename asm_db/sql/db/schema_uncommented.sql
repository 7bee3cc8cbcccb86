-- Tables, views, columns and functions of the asmdb schema without a COMMENT ON text.
SELECT 'asmdb.' || c.relname
FROM pg_class AS c
WHERE c.relnamespace = 'asmdb'::regnamespace
  AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition
  AND obj_description(c.oid, 'pg_class') IS NULL
UNION ALL
SELECT 'asmdb.' || c.relname || '.' || a.attname
FROM pg_class AS c
JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'asmdb'::regnamespace
  AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition
  AND col_description(c.oid, a.attnum) IS NULL
UNION ALL
SELECT 'asmdb.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
FROM pg_proc AS p
WHERE p.pronamespace = 'asmdb'::regnamespace
  AND obj_description(p.oid, 'pg_proc') IS NULL
ORDER BY 1;
