-- Confirmed and rejected reviews of maps (not the two-period answers of a change's sample)
-- become labels at their tile's centre (sample_type 'review',
-- one per tile, the latest review), unless an existing label in the tile says otherwise:
-- those are returned as contradictions and left alone. A review label whose tile no longer has
-- a confirmed or rejected answer (it was replaced by unclear or pending), or whose latest answer
-- is contradicted, is removed: review labels say what the answers say. Idempotent: upsert by
-- unique_id, a label written (and counted) only where it is new or says something new.
WITH latest AS (
    SELECT DISTINCT ON (q.tile_id) q.review_id, q.run_id, q.tile_id, q.status, q.reviewer,
           q.reviewed_at, t.lon, t.lat, t.geom AS tile_geom
    FROM asmdb.review_queue AS q
    JOIN asmdb.tiles AS t USING (tile_id)
    WHERE q.status IN ('confirmed', 'rejected') AND q.change_id IS NULL
    ORDER BY q.tile_id, q.reviewed_at DESC NULLS LAST, q.review_id DESC
),
contradicted AS (
    SELECT r.review_id, min(l.unique_id) AS unique_id
    FROM latest AS r
    JOIN asmdb.labels AS l ON ST_Intersects(l.geom, r.tile_geom)
    WHERE l.sample_type IS DISTINCT FROM 'review'
      AND l.label <> CASE WHEN r.status = 'confirmed' THEN 1 ELSE 0 END
    GROUP BY r.review_id
),
merged AS (
    INSERT INTO asmdb.labels AS l (unique_id, lon, lat, sample_type, confidence, label,
                                   proportion_inspected, extra, source_file, geom)
    SELECT 'review-' || r.tile_id, r.lon, r.lat, 'review', 5,
           CASE WHEN r.status = 'confirmed' THEN 1 ELSE 0 END, 1,
           jsonb_build_object('review_id', r.review_id, 'run_id', r.run_id,
                              'reviewer', r.reviewer, 'reviewed_at', r.reviewed_at),
           'review', ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326)
    FROM latest AS r
    WHERE r.review_id NOT IN (SELECT review_id FROM contradicted)
    ON CONFLICT (unique_id) DO UPDATE
        SET label = EXCLUDED.label, extra = EXCLUDED.extra, ingested_at = now()
        WHERE (l.label, l.extra) IS DISTINCT FROM (EXCLUDED.label, EXCLUDED.extra)
    RETURNING l.label_id, l.unique_id, (xmax = 0) AS inserted
),
stale AS (  -- review labels no current answer makes (disjoint from `merged`'s rows)
    DELETE FROM asmdb.labels AS l
    USING (SELECT DISTINCT tile_id FROM asmdb.review_queue WHERE change_id IS NULL) AS q
    WHERE l.unique_id = 'review-' || q.tile_id AND l.source_file = 'review'
      AND l.sample_type = 'review'
      AND (q.tile_id NOT IN (SELECT tile_id FROM latest)
           OR q.tile_id IN (SELECT r.tile_id FROM latest AS r
                            JOIN contradicted AS c ON c.review_id = r.review_id))
    RETURNING l.label_id
),
unlinked AS (  -- a row no longer confirmed or rejected points at no label
    UPDATE asmdb.review_queue AS q SET label_id = NULL
    WHERE q.label_id IS NOT NULL
      AND (q.status NOT IN ('confirmed', 'rejected') OR q.change_id IS NOT NULL)
    RETURNING q.review_id
),
linked AS (  -- every answered row of a reviewed tile points at its label, new or not
    UPDATE asmdb.review_queue AS q SET label_id = coalesce(m.label_id, l.label_id)
    FROM latest AS r
    LEFT JOIN merged AS m ON m.unique_id = 'review-' || r.tile_id
    LEFT JOIN asmdb.labels AS l ON l.unique_id = 'review-' || r.tile_id
    WHERE r.review_id NOT IN (SELECT review_id FROM contradicted)
      AND q.tile_id = r.tile_id AND q.status IN ('confirmed', 'rejected')
      AND q.change_id IS NULL
      AND q.label_id IS DISTINCT FROM coalesce(m.label_id, l.label_id)
    RETURNING q.review_id
)
SELECT 'label' AS kind, count(*) FILTER (WHERE inserted)::text, count(*) FILTER (WHERE NOT inserted)::text
FROM merged
UNION ALL
SELECT 'removed', count(*)::text, NULL FROM stale
UNION ALL
SELECT 'contradiction', c.review_id::text, c.unique_id FROM contradicted AS c;
