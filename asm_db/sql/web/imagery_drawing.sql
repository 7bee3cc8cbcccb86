-- What one imagery's tiles are drawn from, read as the server's reader (never a visitor's role)
-- once the visitor's role has read its row (web/imagery_source).
SELECT files, scale, "offset", stretch
FROM asmdb.imagery
WHERE imagery_id = %(imagery_id)s
