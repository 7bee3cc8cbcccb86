-- Delete a run; its maps, evaluation rows and review rows go with it (ON DELETE CASCADE).
DELETE FROM asmdb.model_runs WHERE run_id = %(run_id)s;
