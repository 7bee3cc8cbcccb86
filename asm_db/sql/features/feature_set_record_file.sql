-- Record an ingested file in its feature set's provenance (name, size, sha256), with the
-- product it comes from and the period it shows when given.
UPDATE asmdb.feature_sets
SET provenance = jsonb_set(
        provenance || jsonb_build_object(
            'made_by', coalesce(provenance ->> 'made_by', 'asmdb ingest features')),
        '{files}',
        coalesce(provenance -> 'files', '[]'::jsonb) || jsonb_build_array(%(file)s::jsonb)),
    source = coalesce(%(source)s, source),
    period_start = coalesce(%(period_start)s, period_start),
    period_end = coalesce(%(period_end)s, period_end)
WHERE feature_set_id = %(feature_set_id)s;
