-- The run asmdb shows: the one promoted last (a new run is promoted unless trained with
-- --no-promote; `asmdb runs promote ID` promotes an older one again).
CREATE OR REPLACE FUNCTION asmdb.promoted_run()
RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT run_id FROM asmdb.model_runs
    ORDER BY promoted_at DESC NULLS LAST, run_id DESC
    LIMIT 1
$$;
