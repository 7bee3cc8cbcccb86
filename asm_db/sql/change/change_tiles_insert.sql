-- One change map in one statement on the tile key: every tile of either map, with both
-- probabilities, their difference and its class (asm_db.change.classes has the rules), and its
-- area in km2 on the WGS 84 ellipsoid.
INSERT INTO {partition} (change_id, tile_id, p_from, p_to, delta, class, area_km2, geom)
SELECT
    {change_id},
    tile_id,
    a.probability,
    b.probability,
    b.probability - a.probability,
    CASE
        WHEN a.tile_id IS NULL OR b.tile_id IS NULL THEN 'no_data'
        WHEN a.probability < %(threshold)s AND b.probability >= %(threshold)s
             AND b.probability - a.probability >= %(min_delta)s THEN 'new'
        WHEN b.probability < %(threshold)s AND a.probability >= %(threshold)s
             AND a.probability - b.probability >= %(min_delta)s THEN 'gone'
        WHEN a.probability >= %(threshold)s THEN 'persistent'
        ELSE 'absent'
    END,
    ST_Area(coalesce(a.geom, b.geom)::geography) / 1e6,
    coalesce(a.geom, b.geom)
FROM (SELECT tile_id, probability, geom FROM asmdb.predictions
      WHERE map_id = %(from_map)s) AS a
FULL JOIN (SELECT tile_id, probability, geom FROM asmdb.predictions
           WHERE map_id = %(to_map)s) AS b USING (tile_id);
