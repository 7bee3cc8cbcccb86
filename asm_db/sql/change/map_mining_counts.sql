-- Tiles of each of two maps, and how many are at or above the change's threshold.
SELECT map_id, count(*), count(*) FILTER (WHERE probability >= %(threshold)s)
FROM asmdb.predictions
WHERE map_id IN (%(from_map)s, %(to_map)s)
GROUP BY map_id;
