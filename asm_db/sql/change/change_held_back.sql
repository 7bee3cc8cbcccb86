-- Tiles of a change that crossed the threshold by less than its min_delta: they kept their
-- earlier class (persistent or absent) rather than being called gone or new.
SELECT count(*)
FROM asmdb.change_tiles
WHERE change_id = %(change_id)s
  AND class IN ('persistent', 'absent')
  AND (p_from < %(threshold)s) <> (p_to < %(threshold)s);
