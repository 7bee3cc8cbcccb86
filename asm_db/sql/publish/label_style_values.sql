-- The (label, mine_type) pairs present, for the label layer's categories.
SELECT DISTINCT label, mine_type FROM asmdb.labels ORDER BY label, mine_type;
