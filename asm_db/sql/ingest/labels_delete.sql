-- Delete labels by unique_id, or every label of one source file; returns the unique_ids gone.
DELETE FROM asmdb.labels
WHERE unique_id = ANY (%(unique_ids)s::text[])
   OR (%(source_file)s::text IS NOT NULL AND source_file = %(source_file)s::text)
RETURNING unique_id;
