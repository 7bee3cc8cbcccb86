-- Rows of the file that name the same grid tile: the file is ambiguous, nothing is merged.
SELECT array_agg(line ORDER BY line) AS lines
FROM features_stage
GROUP BY tile_id
HAVING count(*) > 1
ORDER BY min(line)
LIMIT 5;
