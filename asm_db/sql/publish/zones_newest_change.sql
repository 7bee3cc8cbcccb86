-- The newest change with stored zones (null when none has).
SELECT max(change_id) FROM asmdb.change_zones;
