-- A change's review sample as the review file carries it: both periods, both probabilities,
-- and the two answers (answer_from, answer_to: confirmed, rejected or unclear).
SELECT q.review_id, q.change_id, q.run_id, q.tile_id, q.stratum, q.reason,
       concat_ws('/', fa.period_start, fa.period_end) AS period_from,
       concat_ws('/', fb.period_start, fb.period_end) AS period_to,
       c.p_from, c.p_to, c.delta, q.inclusion_probability, q.answer_from, q.answer_to,
       q.status, q.reviewer, q.reviewed_at, q.notes, q.geom
FROM asmdb.review_queue AS q
JOIN asmdb.change_tiles AS c ON c.change_id = q.change_id AND c.tile_id = q.tile_id
JOIN asmdb.changes AS ch ON ch.change_id = q.change_id
JOIN asmdb.maps AS ma ON ma.map_id = ch.from_map
JOIN asmdb.feature_sets AS fa ON fa.feature_set_id = ma.feature_set_id
JOIN asmdb.maps AS mb ON mb.map_id = ch.to_map
JOIN asmdb.feature_sets AS fb ON fb.feature_set_id = mb.feature_set_id
WHERE q.change_id = %(change_id)s
ORDER BY q.review_id;
