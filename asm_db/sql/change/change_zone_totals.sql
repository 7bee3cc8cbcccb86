-- Mapped change per zone and class: km2 is the area of each tile inside the zone (exact, on
-- the ellipsoid; a tile across a border counts on both sides for its share), tiles counts the
-- tiles whose centre lies in the zone. The zones are cut into small pieces first so that
-- each test is cheap; features sharing a zone's name are one zone (unioned).
WITH zones AS (
    SELECT zone, ST_Union(geom) AS geom FROM change_zones_stage GROUP BY zone
),
pieces AS (
    SELECT zone, ST_Subdivide(geom, 128) AS geom FROM zones
)
SELECT
    p.zone,
    c.class,
    count(DISTINCT c.tile_id) FILTER (WHERE ST_Intersects(p.geom, ST_Centroid(c.geom))) AS tiles,
    sum(CASE WHEN ST_CoveredBy(c.geom, p.geom) THEN c.area_km2
             ELSE ST_Area(ST_Intersection(c.geom, p.geom)::geography) / 1e6 END) AS km2
FROM pieces AS p
JOIN asmdb.change_tiles AS c ON c.change_id = %(change_id)s AND ST_Intersects(c.geom, p.geom)
GROUP BY p.zone, c.class
ORDER BY p.zone, c.class;
