-- File rows whose review_id names a queue row of another tile, run or change: a file from
-- another database (or from before a restore) whose ids point at the wrong tiles.
SELECT s.row_number,
       CASE WHEN s.tile_id IS NOT NULL AND s.tile_id <> q.tile_id THEN 'tile_id'
            WHEN s.run_id IS NOT NULL AND s.run_id <> q.run_id THEN 'run_id'
            ELSE 'change_id' END
FROM review_stage AS s
JOIN asmdb.review_queue AS q ON q.review_id = s.review_id
WHERE (s.tile_id IS NOT NULL AND s.tile_id <> q.tile_id)
   OR (s.run_id IS NOT NULL AND s.run_id <> q.run_id)
   OR (s.change_id IS NOT NULL AND s.change_id IS DISTINCT FROM q.change_id)
ORDER BY s.row_number;
