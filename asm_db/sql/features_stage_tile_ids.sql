-- Each staged row's tile, in file order: the key its feature vector is COPYed under.
SELECT asmdb.tile_id(lat, lon) FROM features_stage ORDER BY line;
