-- The model-assisted estimate's auxiliary for each stratum of a change's review sample (each
-- sampled change class of change %(change_id)s): the area-weighted mean, over all its tiles, of
-- each change class's probability from the probabilities of the change being estimated
-- (%(map_change_id)s, the same change unless its sample is reused): new p_to (1 - p_from), gone
-- p_from (1 - p_to), persistent p_from p_to, absent (1 - p_from) (1 - p_to). A tile the estimated
-- change lacks counts 0.
SELECT s.class,
       sum(s.area_km2 * (1 - coalesce(m.p_from, 0)) * coalesce(m.p_to, 0)) / sum(s.area_km2),
       sum(s.area_km2 * coalesce(m.p_from, 0) * (1 - coalesce(m.p_to, 0))) / sum(s.area_km2),
       sum(s.area_km2 * coalesce(m.p_from, 0) * coalesce(m.p_to, 0)) / sum(s.area_km2),
       sum(s.area_km2 * (1 - coalesce(m.p_from, 0)) * (1 - coalesce(m.p_to, 0)))
           / sum(s.area_km2)
FROM asmdb.change_tiles AS s
LEFT JOIN asmdb.change_tiles AS m ON m.change_id = %(map_change_id)s AND m.tile_id = s.tile_id
WHERE s.change_id = %(change_id)s AND s.class = ANY(%(sampled_classes)s::text[])
GROUP BY s.class;
