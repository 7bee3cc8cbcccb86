-- The mine types the labels hold, with their counts (labels without one are left out).
SELECT mine_type, count(*)
FROM asmdb.labels
WHERE mine_type IS NOT NULL
GROUP BY mine_type
ORDER BY mine_type;
