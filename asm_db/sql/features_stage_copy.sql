COPY features_stage (line, lat, lon, image_id) FROM STDIN (FORMAT BINARY)
