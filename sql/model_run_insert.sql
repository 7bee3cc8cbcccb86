INSERT INTO asmdb.model_runs (feature_set_id, parameters, metrics, counts, model, model_format,
                              library_versions)
VALUES (%(feature_set_id)s, %(parameters)s, %(metrics)s, %(counts)s, %(model)s, %(model_format)s,
        %(library_versions)s)
RETURNING run_id, created_at;
