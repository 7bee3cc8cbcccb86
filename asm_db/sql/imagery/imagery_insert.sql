INSERT INTO asmdb.imagery
    (name, period_start, period_end, footprint, bands, files, files_owned, scale, "offset",
     stretch, empty_fraction, source, item_ids, parameters)
VALUES (
    %(name)s, %(period_start)s, %(period_end)s,
    ST_Multi(ST_MakeEnvelope(%(west)s, %(south)s, %(east)s, %(north)s, 4326)),
    %(bands)s, %(files)s, %(files_owned)s, %(scale)s, %(offset)s,
    %(stretch)s, %(empty_fraction)s, %(source)s, %(item_ids)s, %(parameters)s
)
RETURNING imagery_id
