-- Take an operation's lock row until the transaction ends (see asm_db/db/locks.py); the
-- caller's lock_timeout bounds the wait. FOR UPDATE needs UPDATE rights on
-- asmdb.operation_locks: only asmdb's writers have them.
SELECT name FROM asmdb.operation_locks
WHERE name = %(name)s
FOR UPDATE
