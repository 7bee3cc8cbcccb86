-- One change (by id, or the newest) with its maps' periods.
SELECT c.change_id, c.from_map, c.to_map, c.threshold, c.min_delta, c.created_at, c.classes,
       c.zones, fa.period_start, fa.period_end, fb.period_start, fb.period_end,
       c.min_delta_rule, c.held_back
FROM asmdb.changes AS c
JOIN asmdb.maps AS ma ON ma.map_id = c.from_map
JOIN asmdb.feature_sets AS fa ON fa.feature_set_id = ma.feature_set_id
JOIN asmdb.maps AS mb ON mb.map_id = c.to_map
JOIN asmdb.feature_sets AS fb ON fb.feature_set_id = mb.feature_set_id
WHERE c.change_id = coalesce(%(change_id)s::integer, asmdb.latest_change_id());
