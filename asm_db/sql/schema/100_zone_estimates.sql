-- Change by zone: one row per zone of the newest change that has zone estimates (`asmdb review
-- estimate --change ID --zones FILE`), with each class's estimated area, its 95 percent interval and
-- the area the map shows. Key: zone_id. It holds areas, not sites: a public layer.
CREATE OR REPLACE VIEW asmdb.zone_estimates AS
SELECT
    z.zone_id,
    z.change_id,
    z.zone,
    fa.period_start AS period_from,
    fb.period_start AS period_to,
    z.reviewed,
    z.note IS NULL AS estimated,
    z.note,
    max(e.area_km2) FILTER (WHERE e.class = 'new') AS new_km2,
    max(e.low) FILTER (WHERE e.class = 'new') AS new_low,
    max(e.high) FILTER (WHERE e.class = 'new') AS new_high,
    coalesce(max(e.mapped_km2) FILTER (WHERE e.class = 'new'), 0) AS new_mapped_km2,
    max(e.area_km2) FILTER (WHERE e.class = 'gone') AS gone_km2,
    max(e.low) FILTER (WHERE e.class = 'gone') AS gone_low,
    max(e.high) FILTER (WHERE e.class = 'gone') AS gone_high,
    coalesce(max(e.mapped_km2) FILTER (WHERE e.class = 'gone'), 0) AS gone_mapped_km2,
    max(e.area_km2) FILTER (WHERE e.class = 'persistent') AS persistent_km2,
    max(e.low) FILTER (WHERE e.class = 'persistent') AS persistent_low,
    max(e.high) FILTER (WHERE e.class = 'persistent') AS persistent_high,
    coalesce(max(e.mapped_km2) FILTER (WHERE e.class = 'persistent'), 0) AS persistent_mapped_km2,
    max(e.area_km2) FILTER (WHERE e.class = 'absent') AS absent_km2,
    max(e.low) FILTER (WHERE e.class = 'absent') AS absent_low,
    max(e.high) FILTER (WHERE e.class = 'absent') AS absent_high,
    coalesce(max(e.mapped_km2) FILTER (WHERE e.class = 'absent'), 0) AS absent_mapped_km2,
    z.geom
FROM asmdb.change_zones AS z
JOIN asmdb.changes AS c ON c.change_id = z.change_id
JOIN asmdb.maps AS ma ON ma.map_id = c.from_map
JOIN asmdb.feature_sets AS fa ON fa.feature_set_id = ma.feature_set_id
JOIN asmdb.maps AS mb ON mb.map_id = c.to_map
JOIN asmdb.feature_sets AS fb ON fb.feature_set_id = mb.feature_set_id
LEFT JOIN asmdb.change_zone_estimates AS e ON e.zone_id = z.zone_id
WHERE z.change_id = (SELECT max(change_id) FROM asmdb.change_zones)
GROUP BY z.zone_id, fa.period_start, fb.period_start;

COMMENT ON VIEW asmdb.zone_estimates IS
    'Change by zone of the newest change with zone estimates. QGIS key: zone_id.';

COMMENT ON COLUMN asmdb.zone_estimates.zone_id IS 'The zone''s key (unique in the view).';
COMMENT ON COLUMN asmdb.zone_estimates.change_id IS 'The change the estimates are of.';
COMMENT ON COLUMN asmdb.zone_estimates.zone IS 'The zone''s name.';
COMMENT ON COLUMN asmdb.zone_estimates.period_from IS 'First day of the earlier map''s period.';
COMMENT ON COLUMN asmdb.zone_estimates.period_to IS 'First day of the later map''s period.';
COMMENT ON COLUMN asmdb.zone_estimates.reviewed IS 'Reviewed sample tiles in the zone.';
COMMENT ON COLUMN asmdb.zone_estimates.estimated IS
    'Whether the zone has enough reviews for estimates with intervals.';
COMMENT ON COLUMN asmdb.zone_estimates.note IS 'Why the zone has no interval, where it has none.';
COMMENT ON COLUMN asmdb.zone_estimates.new_km2 IS
    'Estimated area of new mining in the zone, km2 (null: too few reviews).';
COMMENT ON COLUMN asmdb.zone_estimates.new_low IS 'Low end of the 95 percent interval of new_km2.';
COMMENT ON COLUMN asmdb.zone_estimates.new_high IS 'High end of the 95 percent interval of new_km2.';
COMMENT ON COLUMN asmdb.zone_estimates.new_mapped_km2 IS
    'Area of new mining the change map shows in the zone, km2.';
COMMENT ON COLUMN asmdb.zone_estimates.gone_km2 IS
    'Estimated area of mining gone in the zone, km2 (null: too few reviews).';
COMMENT ON COLUMN asmdb.zone_estimates.gone_low IS 'Low end of the 95 percent interval of gone_km2.';
COMMENT ON COLUMN asmdb.zone_estimates.gone_high IS 'High end of the 95 percent interval of gone_km2.';
COMMENT ON COLUMN asmdb.zone_estimates.gone_mapped_km2 IS
    'Area of mining gone the change map shows in the zone, km2.';
COMMENT ON COLUMN asmdb.zone_estimates.persistent_km2 IS
    'Estimated area of mining in both periods in the zone, km2 (null: too few reviews).';
COMMENT ON COLUMN asmdb.zone_estimates.persistent_low IS 'Low end of the 95 percent interval of persistent_km2.';
COMMENT ON COLUMN asmdb.zone_estimates.persistent_high IS 'High end of the 95 percent interval of persistent_km2.';
COMMENT ON COLUMN asmdb.zone_estimates.persistent_mapped_km2 IS
    'Area of mining in both periods the change map shows in the zone, km2.';
COMMENT ON COLUMN asmdb.zone_estimates.absent_km2 IS
    'Estimated area of no mining in either period in the zone, km2 (null: too few reviews).';
COMMENT ON COLUMN asmdb.zone_estimates.absent_low IS 'Low end of the 95 percent interval of absent_km2.';
COMMENT ON COLUMN asmdb.zone_estimates.absent_high IS 'High end of the 95 percent interval of absent_km2.';
COMMENT ON COLUMN asmdb.zone_estimates.absent_mapped_km2 IS
    'Area of no mining in either period the change map shows in the zone, km2.';
COMMENT ON COLUMN asmdb.zone_estimates.geom IS 'The zone''s outline.';
