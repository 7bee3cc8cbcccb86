-- A run's predictions load into a table of their own, with no index yet; it then becomes the
-- run's partition of asmdb.predictions (predictions_partition_attach.sql). The CHECK lets the
-- attach skip scanning it.
CREATE TABLE {partition} (LIKE asmdb.predictions INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE {partition} ADD CONSTRAINT {check} CHECK (run_id = {run_id});
