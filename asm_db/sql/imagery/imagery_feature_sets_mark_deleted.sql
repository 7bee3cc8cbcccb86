-- Feature sets made from deleted imagery stay; their provenance says it is gone.
UPDATE asmdb.feature_sets
SET provenance = jsonb_set(
    provenance, '{registered_imagery,deleted_at}', to_jsonb(now()::text), true)
WHERE provenance -> 'registered_imagery' ->> 'name' = %(name)s
RETURNING name
