-- One "find more like this" search, kept so its results can be found again (and in QGIS).
INSERT INTO asmdb.similarity_queries (feature_set_id, query_tiles, source, top, method)
VALUES (%(feature_set_id)s, %(query_tiles)s::bigint[], %(source)s, %(top)s, %(method)s)
RETURNING query_id, created_at;
