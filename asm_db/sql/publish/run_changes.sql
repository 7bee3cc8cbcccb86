-- The newest change between two maps of one run, with the change's tiles.
SELECT c.change_id
FROM asmdb.changes AS c
JOIN asmdb.maps AS a ON a.map_id = c.from_map
JOIN asmdb.maps AS b ON b.map_id = c.to_map
WHERE a.run_id = %(run_id)s AND b.run_id = %(run_id)s
ORDER BY c.change_id DESC
LIMIT 1;
