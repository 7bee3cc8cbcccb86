-- Every label joined to every tile it intersects: the seed's
-- gpd.sjoin(labels, tiles, how="inner", predicate="intersects"). A label on a shared edge or
-- corner joins each tile it touches. Both sides use their GiST index.
-- label_tile_id (first, so QGIS takes it as the key) is unique: label_id and tile_id side by side.
CREATE OR REPLACE VIEW asmdb.label_tiles AS
SELECT
    (l.label_id::bigint << 32) | t.tile_id::bigint AS label_tile_id,
    l.label_id,
    t.tile_id,
    l.unique_id,
    t.image_id,
    l.label,
    l.mine_type,
    l.confidence,
    l.proportion_inspected,
    l.sample_type,
    l.country,
    l.geom
FROM asmdb.labels AS l
JOIN asmdb.tiles AS t ON ST_Intersects(l.geom, t.geom);

COMMENT ON VIEW asmdb.label_tiles IS
    'Labels joined to the tiles they intersect. QGIS key: label_tile_id (int8, unique).';
