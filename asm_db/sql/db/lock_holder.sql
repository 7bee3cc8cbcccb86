-- Who holds an operation's lock row: a row locked FOR UPDATE carries the locking transaction's
-- id in xmax, and that transaction's session holds a granted transactionid lock on it.
SELECT a.pid, a.usename, a.application_name, a.xact_start
FROM asmdb.operation_locks AS o
JOIN pg_locks AS l
  ON l.locktype = 'transactionid' AND l.granted
 AND l.transactionid::text = o.xmax::text
JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE o.name = %(name)s AND o.xmax::text <> '0'
LIMIT 1
