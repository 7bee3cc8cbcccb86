COPY tiles_stage (tile_id, lat, lon, image_id) FROM STDIN (FORMAT BINARY)
