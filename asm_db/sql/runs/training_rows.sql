-- The training matrix: filtered labels joined to the tiles of the feature set's grid they
-- intersect (as label_tiles joins them, on the tiles' GiST index), with that tile's feature
-- vector. Ordered as the seed's sjoin output (labels in file order, then tiles), so the
-- seed's split with the same random_state picks the same rows. Each row also carries the
-- number of rows, so the reader allocates the matrix once, from the first row.
COPY (
    SELECT count(*) OVER () AS rows, l.label_id, t.tile_id, l.label, f.features
    FROM asmdb.filtered_labels(%(min_proportion_inspected)s,
                               %(exclude_mine_types)s::text[],
                               %(min_confidence)s,
                               %(observed_from)s::date,
                               %(observed_to)s::date) AS l
    CROSS JOIN LATERAL (
        SELECT t.tile_id
        FROM asmdb.tiles AS t
        WHERE ST_Intersects(l.geom, t.geom) AND t.grid_id = %(grid_id)s
        OFFSET 0
    ) AS t
    JOIN asmdb.tile_features AS f ON f.tile_id = t.tile_id
    WHERE f.feature_set_id = %(feature_set_id)s
    ORDER BY l.label_id, t.tile_id
) TO STDOUT (FORMAT BINARY)
