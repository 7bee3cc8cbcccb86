SELECT grid_id, cell_size, origin_lon, origin_lat FROM asmdb.grids WHERE grid_id = %(grid_id)s;
