-- The zones staged for a change's estimate (change_zones_stage), one row per name (features of
-- one name unioned, as their totals count them), with each zone's reviewed sample tiles and
-- why it has no interval (null where it has one).
INSERT INTO asmdb.change_zones (change_id, zone, reviewed, note, geom)
SELECT %(change_id)s, s.zone, e.reviewed, e.note,
       ST_Multi(ST_CollectionExtract(ST_Union(s.geom), 3))
FROM change_zones_stage AS s
JOIN unnest(%(zones)s::text[], %(reviewed)s::integer[], %(notes)s::text[])
    AS e (zone, reviewed, note) USING (zone)
GROUP BY s.zone, e.reviewed, e.note
RETURNING zone, zone_id;
