-- Replace asmdb's own style of a layer in QGIS's `layer_styles`. It is the layer's default
-- unless somebody saved another default for it, which stays the default. `type` stays NULL so
-- QGIS applies the style whether or not the connection names the geometry type.
-- QGIS matches f_table_catalog to the database name: asmdb's rows written under another name
-- (a database cloned, restored or renamed) are replaced too.
WITH replaced AS (
    DELETE FROM public.layer_styles
    WHERE f_table_schema = %(schema)s
      AND f_table_name = %(table)s
      AND f_geometry_column = %(geometry_column)s
      AND stylename = %(style_name)s
)
INSERT INTO public.layer_styles (f_table_catalog, f_table_schema, f_table_name,
                                 f_geometry_column, stylename, styleqml, useasdefault,
                                 description, type)
SELECT current_database(), %(schema)s, %(table)s, %(geometry_column)s, %(style_name)s,
       XMLPARSE(DOCUMENT %(qml)s),
       NOT EXISTS (
           SELECT 1 FROM public.layer_styles AS other
           WHERE other.f_table_catalog = current_database()
             AND other.f_table_schema = %(schema)s
             AND other.f_table_name = %(table)s
             AND other.f_geometry_column = %(geometry_column)s
             AND other.useasdefault
             AND other.stylename IS DISTINCT FROM %(style_name)s
       ),
       %(description)s, NULL;
