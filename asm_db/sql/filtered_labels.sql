-- The seed's label quality filters, with the seed's thresholds as defaults:
--   keep proportion_inspected >= 0.2 unless label = 1; drop mine_type 'commercial';
--   keep confidence >= 3. Missing values behave as in pandas: a missing
--   proportion_inspected or confidence fails its test, a missing mine_type is kept.
-- A plain SQL function, so the planner inlines it: SELECT * FROM asmdb.filtered_labels();
CREATE OR REPLACE FUNCTION asmdb.filtered_labels(
    min_proportion_inspected double precision DEFAULT 0.2,
    exclude_mine_types text[] DEFAULT ARRAY['commercial'],
    min_confidence double precision DEFAULT 3
)
RETURNS SETOF asmdb.labels
LANGUAGE sql STABLE
AS $$
    SELECT *
    FROM asmdb.labels AS l
    WHERE (coalesce(l.proportion_inspected >= min_proportion_inspected, false) OR l.label = 1)
      AND (l.mine_type IS NULL OR l.mine_type <> ALL (exclude_mine_types))
      AND coalesce(l.confidence >= min_confidence, false)
$$;
