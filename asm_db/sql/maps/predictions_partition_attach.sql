-- Index the loaded rows in one build each, then attach: the parent's indexes adopt these, and
-- readers see the partition when the map's transaction commits.
ALTER TABLE {partition} ADD PRIMARY KEY (map_id, tile_id);
CREATE INDEX ON {partition} USING gist (geom);
CREATE INDEX ON {partition} (map_tile_id);
ALTER TABLE asmdb.predictions ATTACH PARTITION {partition} FOR VALUES IN ({map_id});
