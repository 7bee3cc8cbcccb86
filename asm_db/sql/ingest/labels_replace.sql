-- After a merge with --replace: labels of the same source file that the file no longer holds
-- are deleted, so the file is its source's whole set. Returns how many went.
WITH gone AS (
    DELETE FROM asmdb.labels AS l
    WHERE l.source_file = %(source_file)s
      AND NOT EXISTS (SELECT 1 FROM labels_stage AS s WHERE s.unique_id = l.unique_id)
    RETURNING 1
)
SELECT count(*) FROM gone;
