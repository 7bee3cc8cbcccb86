-- The tiles of confirmed mines: tiles under a mine label (label = 1), and tiles a reviewer
-- confirmed that are not labels yet.
SELECT tile_id FROM asmdb.label_tiles WHERE label = 1
UNION
SELECT tile_id FROM asmdb.review_queue WHERE status = 'confirmed'
ORDER BY tile_id;
