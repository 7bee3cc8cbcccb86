-- The registered imagery for a period and an area, best first: the one rule by which the web
-- page (`/api/imagery?period=&bbox=`) and `review export --imagery` choose imagery.
-- %(start)s, %(end)s: the period (dates, both included). %(boxes)s: the area, rows of
-- [west, south, east, north] in EPSG:4326 that do not overlap (a view's bbox; queued tiles);
-- NULL: anywhere. %(names)s: these imagery instead of the period's, whatever their period.
-- Kept: imagery whose period meets the period and whose footprint meets the area. Best first:
-- the largest share of the days of either period that both hold (intersection over union),
-- then the largest share of the area the footprint covers, then by name.
-- Reads asmdb.imagery alone: the web server runs it as the visitor.
WITH box AS (
    SELECT ST_MakeEnvelope(given.b[k][1], given.b[k][2], given.b[k][3], given.b[k][4], 4326)
        AS geom
    FROM (SELECT %(boxes)s::float8[] AS b) AS given
    CROSS JOIN LATERAL generate_subscripts(given.b, 1) AS k
),
area AS (
    SELECT sum(ST_Area(geom)) AS size FROM box
)
SELECT i.name,
       i.period_start,
       i.period_end,
       ARRAY[ST_XMin(i.footprint), ST_YMin(i.footprint), ST_XMax(i.footprint),
             ST_YMax(i.footprint)] AS bounds,
       i.bands,
       (least(i.period_end, %(end)s::date) - greatest(i.period_start, %(start)s::date) + 1)::float8
           / (greatest(i.period_end, %(end)s::date) - least(i.period_start, %(start)s::date) + 1)
           AS shared,
       m.covered / nullif(a.size, 0) AS covered,
       m.met,
       i.imagery_id
FROM asmdb.imagery AS i
CROSS JOIN area AS a
CROSS JOIN LATERAL (
    SELECT coalesce(sum(ST_Area(ST_Intersection(box.geom, i.footprint))), 0) AS covered,
           count(*) AS met
    FROM box
    WHERE ST_Intersects(box.geom, i.footprint)
) AS m
WHERE CASE
        WHEN %(names)s::text[] IS NOT NULL THEN i.name = ANY(%(names)s::text[])
        ELSE i.period_start <= %(end)s::date AND i.period_end >= %(start)s::date
    END
    AND (a.size IS NULL OR m.met > 0)
ORDER BY shared DESC NULLS LAST, covered DESC NULLS LAST, i.name;
