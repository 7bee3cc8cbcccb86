COPY features_stage (line, lat, lon, features, image_id) FROM STDIN (FORMAT BINARY)
