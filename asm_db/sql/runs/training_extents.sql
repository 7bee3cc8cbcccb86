-- The extents of the labels that pass the filters and of a feature set's tiles, as
-- (xmin, ymin, xmax, ymax); asked only when no filtered label lies on a tile.
WITH labels AS (
    SELECT ST_Extent(l.geom) AS extent
    FROM asmdb.filtered_labels(%(min_proportion_inspected)s,
                               %(exclude_mine_types)s::text[],
                               %(min_confidence)s) AS l
), tiles AS (
    SELECT ST_Extent(t.geom) AS extent
    FROM asmdb.tile_features AS f
    JOIN asmdb.tiles AS t USING (tile_id)
    WHERE f.feature_set_id = %(feature_set_id)s
)
SELECT ST_XMin(labels.extent), ST_YMin(labels.extent), ST_XMax(labels.extent),
       ST_YMax(labels.extent),
       ST_XMin(tiles.extent), ST_YMin(tiles.extent), ST_XMax(tiles.extent),
       ST_YMax(tiles.extent)
FROM labels, tiles;
