UPDATE asmdb.maps SET promoted_at = clock_timestamp() WHERE map_id = %(map_id)s RETURNING map_id;
