-- The map asmdb shows: the one promoted last (`asmdb train` promotes the map of a new run
-- unless told --no-promote; `asmdb maps promote ID` promotes another). A map never promoted is
-- never shown: with no promoted map there is nothing to show.
CREATE OR REPLACE FUNCTION asmdb.promoted_map()
RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT map_id FROM asmdb.maps
    WHERE promoted_at IS NOT NULL
    ORDER BY promoted_at DESC, map_id DESC
    LIMIT 1
$$;
