-- Mark a featurized set complete, with the final count of tiles done and skipped.
UPDATE asmdb.feature_sets
SET complete = true,
    provenance = jsonb_set(provenance, '{tiles}', %(tiles)s)
WHERE feature_set_id = %(feature_set_id)s;
