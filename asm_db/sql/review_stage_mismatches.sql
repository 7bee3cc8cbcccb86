-- File rows whose review_id names a queue row of another tile or run: a file from another
-- database (or from before a restore) whose ids point at the wrong tiles.
SELECT s.row_number,
       CASE WHEN s.tile_id IS NOT NULL AND s.tile_id <> q.tile_id THEN 'tile_id' ELSE 'run_id' END
FROM review_stage AS s
JOIN asmdb.review_queue AS q ON q.review_id = s.review_id
WHERE (s.tile_id IS NOT NULL AND s.tile_id <> q.tile_id)
   OR (s.run_id IS NOT NULL AND s.run_id <> q.run_id)
ORDER BY s.row_number;
