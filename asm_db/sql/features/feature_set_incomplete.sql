-- Whether a feature set is still being written by `asmdb featurize` (batches committed so far).
SELECT NOT complete FROM asmdb.feature_sets WHERE feature_set_id = %(feature_set_id)s;
