COPY labels_stage (lon, lat, unique_id, country, sample_type, mine_type, confidence, label,
                   proportion_inspected, observed_at, extra) FROM STDIN
