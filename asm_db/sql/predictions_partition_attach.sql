-- Index the loaded rows in one build each, then attach: the parent's indexes adopt these, and
-- readers see the partition when the run's transaction commits.
ALTER TABLE {partition} ADD PRIMARY KEY (run_id, tile_id);
CREATE INDEX ON {partition} USING gist (geom);
ALTER TABLE asmdb.predictions ATTACH PARTITION {partition} FOR VALUES IN ({run_id});
