-- How many labels remain after each of the seed's filters, applied in the seed's order, then
-- after the observation window (`--observed-within`; without one every label passes it), and
-- how many that pass the seed's filters were dropped by the window for having no date.
WITH steps AS (
    SELECT
        coalesce(l.proportion_inspected >= %(min_proportion_inspected)s, false)
            OR l.label = 1 AS inspected,
        l.mine_type IS NULL OR l.mine_type <> ALL (%(exclude_mine_types)s::text[]) AS mine_type,
        coalesce(l.confidence >= %(min_confidence)s, false) AS confident,
        (%(observed_from)s::date IS NULL AND %(observed_to)s::date IS NULL)
            OR coalesce(l.observed_at BETWEEN coalesce(%(observed_from)s::date, '-infinity')
                                          AND coalesce(%(observed_to)s::date, 'infinity'),
                        false) AS observed,
        l.observed_at IS NULL AS undated
    FROM asmdb.labels AS l
)
SELECT
    count(*) AS labels,
    count(*) FILTER (WHERE inspected) AS after_proportion_inspected,
    count(*) FILTER (WHERE inspected AND mine_type) AS after_mine_type,
    count(*) FILTER (WHERE inspected AND mine_type AND confident) AS after_confidence,
    count(*) FILTER (WHERE inspected AND mine_type AND confident AND observed)
        AS after_observed_within,
    count(*) FILTER (WHERE inspected AND mine_type AND confident AND NOT observed AND undated)
        AS undated_dropped
FROM steps;
