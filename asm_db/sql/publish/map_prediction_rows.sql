SELECT tile_id, probability FROM asmdb.predictions WHERE map_id = %(map_id)s;
