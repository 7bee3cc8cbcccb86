-- Index the loaded rows in one build each, then attach: readers see the change when its
-- transaction commits.
ALTER TABLE {partition} ADD PRIMARY KEY (change_id, tile_id);
CREATE INDEX ON {partition} USING gist (geom);
ALTER TABLE asmdb.change_tiles ATTACH PARTITION {partition} FOR VALUES IN ({change_id});
