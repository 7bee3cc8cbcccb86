SELECT tile_id, class FROM asmdb.change_tiles WHERE change_id = %(change_id)s;
