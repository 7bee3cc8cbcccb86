-- How many labels remain after each of the seed's filters, applied in the seed's order.
WITH steps AS (
    SELECT
        coalesce(l.proportion_inspected >= %(min_proportion_inspected)s, false)
            OR l.label = 1 AS inspected,
        l.mine_type IS NULL OR l.mine_type <> ALL (%(exclude_mine_types)s::text[]) AS mine_type,
        coalesce(l.confidence >= %(min_confidence)s, false) AS confident
    FROM asmdb.labels AS l
)
SELECT
    count(*) AS labels,
    count(*) FILTER (WHERE inspected) AS after_proportion_inspected,
    count(*) FILTER (WHERE inspected AND mine_type) AS after_mine_type,
    count(*) FILTER (WHERE inspected AND mine_type AND confident) AS after_confidence
FROM steps;
