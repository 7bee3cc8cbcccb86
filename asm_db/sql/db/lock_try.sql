-- Take an operation's lock row at once or fail with lock_not_available (see
-- asm_db/db/locks.py).
SELECT name FROM asmdb.operation_locks
WHERE name = %(name)s
FOR UPDATE NOWAIT
