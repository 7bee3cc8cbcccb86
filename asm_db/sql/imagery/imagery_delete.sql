DELETE FROM asmdb.imagery
WHERE name = %(name)s
RETURNING files, files_owned, parameters
