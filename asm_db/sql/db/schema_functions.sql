-- The functions of the asmdb schema: name(arguments), result type, comment.
SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       pg_get_function_result(p.oid),
       obj_description(p.oid, 'pg_proc')
FROM pg_proc AS p
WHERE p.pronamespace = 'asmdb'::regnamespace
ORDER BY p.proname, pg_get_function_identity_arguments(p.oid);
