COPY features_stage (line, tile_id, lat, lon, image_id) FROM STDIN (FORMAT BINARY)
