-- Rows of the file that name the same grid tile: the file is ambiguous, nothing is merged.
SELECT array_agg(line ORDER BY line) AS lines
FROM features_stage
GROUP BY asmdb.tile_id(lat, lon)
HAVING count(*) > 1
ORDER BY min(line)
LIMIT 5;
