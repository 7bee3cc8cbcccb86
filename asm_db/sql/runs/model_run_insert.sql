INSERT INTO asmdb.model_runs (feature_set_id, parameters, metrics, counts, model, model_format,
                              library_versions, protocol, model_name, data_fingerprint,
                              code_version, feature_importance, importance_method)
VALUES (%(feature_set_id)s, %(parameters)s, %(metrics)s, %(counts)s, %(model)s, %(model_format)s,
        %(library_versions)s, %(protocol)s, %(model_name)s, %(data_fingerprint)s,
        %(code_version)s, %(feature_importance)s, %(importance_method)s)
RETURNING run_id, created_at;
