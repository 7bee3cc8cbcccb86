-- A zone's polygon, flattened to 2D and made valid keeping every part (overlapping parts of one
-- multipolygon are not cut out); several features of one name are unioned when they are cut
-- into pieces (change_zone_totals.sql).
INSERT INTO change_zones_stage (zone, geom)
SELECT %(zone)s, ST_Multi(ST_CollectionExtract(ST_MakeValid(
    ST_Force2D(ST_SetSRID(ST_GeomFromWKB(%(wkb)s), 4326)), 'method=structure'), 3));
