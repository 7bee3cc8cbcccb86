-- The reviewed stratified sample of a run: stratum, probability, what the reviewer found.
SELECT stratum, probability, status
FROM asmdb.review_queue
WHERE run_id = %(run_id)s AND reason = 'stratified sample';
