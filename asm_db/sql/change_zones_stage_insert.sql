INSERT INTO change_zones_stage (zone, geom)
SELECT %(zone)s, ST_Multi(ST_CollectionExtract(ST_MakeValid(
    ST_SetSRID(ST_GeomFromWKB(%(wkb)s), 4326)), 3));
