-- The seed's label quality filters, with the seed's thresholds as defaults:
--   keep proportion_inspected >= 0.2 unless label = 1; drop mine_type 'commercial';
--   keep confidence >= 3. Missing values behave as in pandas: a missing
--   proportion_inspected or confidence fails its test, a missing mine_type is kept.
-- With observed_from or observed_to (`asmdb train --observed-within DAYS`), only the labels
-- observed between them (an absent bound: no limit that side) are kept, undated ones dropped;
-- with neither (the default), a label's date does not matter.
-- A plain SQL function, so the planner inlines it: SELECT * FROM asmdb.filtered_labels();
-- The three-argument function of revisions 0001-0012 is dropped: a second overload would make
-- every call with three arguments or fewer ambiguous.
DROP FUNCTION IF EXISTS asmdb.filtered_labels(double precision, text[], double precision);

CREATE OR REPLACE FUNCTION asmdb.filtered_labels(
    min_proportion_inspected double precision DEFAULT 0.2,
    exclude_mine_types text[] DEFAULT ARRAY['commercial'],
    min_confidence double precision DEFAULT 3,
    observed_from date DEFAULT NULL,
    observed_to date DEFAULT NULL
)
RETURNS SETOF asmdb.labels
LANGUAGE sql STABLE
AS $$
    SELECT *
    FROM asmdb.labels AS l
    WHERE (coalesce(l.proportion_inspected >= min_proportion_inspected, false) OR l.label = 1)
      AND (l.mine_type IS NULL OR l.mine_type <> ALL (exclude_mine_types))
      AND coalesce(l.confidence >= min_confidence, false)
      AND (
          (observed_from IS NULL AND observed_to IS NULL)
          OR coalesce(l.observed_at BETWEEN coalesce(observed_from, '-infinity'::date)
                                        AND coalesce(observed_to, 'infinity'::date), false)
      )
$$;

COMMENT ON FUNCTION asmdb.filtered_labels(double precision, text[], double precision, date, date) IS
    'The labels that pass the quality filters (defaults: the seed''s thresholds), optionally only those observed between two dates.';
