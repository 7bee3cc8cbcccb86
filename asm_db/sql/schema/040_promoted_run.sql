-- The run of the promoted map (see promoted_map.sql): the run asmdb shows.
CREATE OR REPLACE FUNCTION asmdb.promoted_run()
RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT run_id FROM asmdb.maps WHERE map_id = asmdb.promoted_map()
$$;

COMMENT ON FUNCTION asmdb.promoted_run() IS 'The run of the promoted map: the run asmdb shows.';
