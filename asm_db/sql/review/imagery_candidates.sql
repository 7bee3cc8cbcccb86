-- Registered imagery that can show a review file's tiles in one period (all imagery named in
-- %(names)s instead, when given): its period meets the period and its footprint meets a
-- queued tile. Best match first: the largest share of the days of either period that both
-- hold (intersection over union), then the most queued tiles it covers, then by name.
WITH queued AS (
    SELECT geom FROM asmdb.review_queue WHERE review_id = ANY(%(review_ids)s::integer[])
)
SELECT i.name,
       i.period_start,
       i.period_end,
       (least(i.period_end, %(end)s::date) - greatest(i.period_start, %(start)s::date) + 1)::float8
           / (greatest(i.period_end, %(end)s::date) - least(i.period_start, %(start)s::date) + 1)
           AS shared,
       (SELECT count(*) FROM queued AS q WHERE ST_Intersects(q.geom, i.footprint)) AS covered
FROM asmdb.imagery AS i
WHERE CASE
    WHEN %(names)s::text[] IS NOT NULL THEN i.name = ANY(%(names)s::text[])
    ELSE i.period_start <= %(end)s::date AND i.period_end >= %(start)s::date
END
ORDER BY shared DESC NULLS LAST, covered DESC, i.name;
