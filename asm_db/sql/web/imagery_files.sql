-- The files of the imagery a visitor was shown (web/imagery_offered, imagery/imagery_for_period),
-- read as the server's reader for their lowest zoom: never sent to the visitor.
SELECT imagery_id, files
FROM asmdb.imagery
WHERE imagery_id = ANY(%(ids)s::integer[])
