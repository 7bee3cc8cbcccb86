-- A change's tiles load into a table of their own, with no index yet; it then becomes the
-- change's partition of asmdb.change_tiles (change_partition_attach.sql).
CREATE TABLE {partition} (LIKE asmdb.change_tiles INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE {partition} ADD CONSTRAINT {check} CHECK (change_id = {change_id});
