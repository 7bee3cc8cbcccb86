-- Tiles and km2 per class of one change.
SELECT class, count(*) AS tiles, coalesce(sum(area_km2), 0) AS km2
FROM asmdb.change_tiles
WHERE change_id = %(change_id)s
GROUP BY class;
