-- A map's predictions load into a table of their own, with no index yet; it then becomes the
-- map's partition of asmdb.predictions (predictions_partition_attach.sql). The CHECK lets the
-- attach skip scanning it.
CREATE TABLE {partition} (LIKE asmdb.predictions INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE {partition} ADD CONSTRAINT {check} CHECK (map_id = {map_id});
