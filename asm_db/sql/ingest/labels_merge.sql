-- Upsert staged labels by unique_id; returns (added, updated). The file is the truth for the
-- rows it has: every column is replaced, observed_at too (NULL when the file has no dates).
WITH merged AS (
    INSERT INTO asmdb.labels AS l (unique_id, lon, lat, country, sample_type, mine_type,
                                   confidence, label, proportion_inspected, observed_at,
                                   extra, source_file, geom)
    SELECT s.unique_id, s.lon, s.lat, s.country, s.sample_type, s.mine_type,
           s.confidence, s.label, s.proportion_inspected, s.observed_at, s.extra,
           %(source_file)s, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326)
    FROM labels_stage AS s
    ON CONFLICT (unique_id) DO UPDATE
        SET lon = EXCLUDED.lon,
            lat = EXCLUDED.lat,
            country = EXCLUDED.country,
            sample_type = EXCLUDED.sample_type,
            mine_type = EXCLUDED.mine_type,
            confidence = EXCLUDED.confidence,
            label = EXCLUDED.label,
            proportion_inspected = EXCLUDED.proportion_inspected,
            observed_at = EXCLUDED.observed_at,
            extra = EXCLUDED.extra,
            source_file = EXCLUDED.source_file,
            ingested_at = now(),
            geom = EXCLUDED.geom
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged;
