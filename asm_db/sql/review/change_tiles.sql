-- The tiles a change's review sample is drawn from: every tile with data in both maps.
SELECT tile_id, class
FROM asmdb.change_tiles
WHERE change_id = %(change_id)s AND class <> 'no_data'
ORDER BY tile_id;
