-- Store a QGIS project as QGIS itself does (Project > Save To > PostgreSQL).
INSERT INTO asmdb.qgis_projects (name, metadata, content)
VALUES (
    %(name)s,
    jsonb_build_object(
        'last_modified_time', to_char(now() AT TIME ZONE 'utc', 'YYYY-MM-DD"T"HH24:MI:SS'),
        'last_modified_user', current_user
    ),
    %(content)s
)
ON CONFLICT (name) DO UPDATE SET content = EXCLUDED.content, metadata = EXCLUDED.metadata;
