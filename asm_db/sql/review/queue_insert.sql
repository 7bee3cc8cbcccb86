-- Queue the chosen tiles: a run's queue holds a tile once. A tile queued already keeps its row
-- and its review; but a tile the stratified sample draws that is queued already for another
-- reason (a hotspot, say) becomes a sample row, so that the sample stays whole. Returns the
-- rows added and the rows that became sample rows.
WITH chosen AS (
    SELECT *
    FROM unnest(%(tile_ids)s::bigint[], %(strata)s::text[], %(reasons)s::text[],
                %(inclusion)s::float8[])
         WITH ORDINALITY AS x(tile_id, stratum, reason, inclusion, i)
),
queued AS (
    SELECT DISTINCT ON (q.tile_id) q.review_id, q.tile_id
    FROM asmdb.review_queue AS q
    WHERE q.run_id = %(run_id)s AND q.change_id IS NULL
    ORDER BY q.tile_id, q.reason = %(sample_reason)s DESC, q.review_id
),
remarked AS (
    UPDATE asmdb.review_queue AS q
    SET reason = c.reason, stratum = c.stratum, inclusion_probability = c.inclusion
    FROM chosen AS c
    JOIN queued AS u USING (tile_id)
    WHERE q.review_id = u.review_id AND c.reason = %(sample_reason)s
      AND q.reason <> %(sample_reason)s
    RETURNING q.review_id
),
added AS (
    INSERT INTO asmdb.review_queue (run_id, tile_id, stratum, reason, probability,
                                    inclusion_probability, geom)
    SELECT %(run_id)s, c.tile_id, c.stratum, c.reason, p.probability, c.inclusion, p.geom
    FROM chosen AS c
    JOIN asmdb.predictions AS p ON p.map_id = %(map_id)s AND p.tile_id = c.tile_id
    WHERE NOT EXISTS (SELECT 1 FROM queued AS u WHERE u.tile_id = c.tile_id)
    ORDER BY c.i
    RETURNING review_id
)
SELECT (SELECT count(*) FROM added), (SELECT count(*) FROM remarked);
