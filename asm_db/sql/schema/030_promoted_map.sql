-- The maps asmdb shows. A map belongs to its feature set's period (period_start, period_end;
-- both may be unknown). Within a period the map promoted last is shown (`asmdb train`
-- promotes the map of a new run unless told --no-promote; `asmdb maps promote ID` promotes
-- another); a map never promoted is never shown.
--   promoted_maps(): the promoted map of every period (asmdb.maps_by_period);
--   promoted_map(): the promoted map of the newest period, dated periods before undated ones
--   (asmdb.latest_predictions).
CREATE OR REPLACE FUNCTION asmdb.promoted_maps()
RETURNS integer[]
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT coalesce(array_agg(map_id ORDER BY map_id), '{}')
    FROM (
        SELECT DISTINCT ON (fs.period_start, fs.period_end) m.map_id
        FROM asmdb.maps AS m
        JOIN asmdb.feature_sets AS fs USING (feature_set_id)
        WHERE m.promoted_at IS NOT NULL
        ORDER BY fs.period_start, fs.period_end, m.promoted_at DESC, m.map_id DESC
    ) AS per_period
$$;

CREATE OR REPLACE FUNCTION asmdb.promoted_map()
RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT m.map_id
    FROM asmdb.maps AS m
    JOIN asmdb.feature_sets AS fs USING (feature_set_id)
    WHERE m.map_id = ANY (asmdb.promoted_maps())
    ORDER BY coalesce(fs.period_end, fs.period_start) DESC NULLS LAST,
             fs.period_start DESC NULLS LAST,
             m.promoted_at DESC
    LIMIT 1
$$;

COMMENT ON FUNCTION asmdb.promoted_maps() IS
    'The promoted map of every period (the map promoted last within each period).';
COMMENT ON FUNCTION asmdb.promoted_map() IS
    'The promoted map of the newest period, dated periods before undated ones.';
