"""QGIS: the default-style table QGIS itself uses, stored projects, declared view keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "asmdb"


def upgrade() -> None:
    # QGIS looks for `layer_styles` unqualified, so it lives in `public`, with the very columns
    # QGIS 3.22 creates; a table QGIS made already is used as it is.
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS public.layer_styles (
            id serial PRIMARY KEY,
            f_table_catalog varchar,
            f_table_schema varchar,
            f_table_name varchar,
            f_geometry_column varchar,
            stylename text,
            styleqml xml,
            stylesld xml,
            useasdefault boolean,
            description text,
            owner varchar(63) DEFAULT CURRENT_USER,
            ui xml,
            update_time timestamp DEFAULT CURRENT_TIMESTAMP,
            type varchar
        )
        """
    )
    # The table QGIS's "Save project to PostgreSQL" creates: the content is the .qgz archive.
    op.execute(
        f"""
        CREATE TABLE {SCHEMA}.qgis_projects (
            name text PRIMARY KEY,
            metadata jsonb,
            content bytea
        )
        """
    )
    op.execute(
        f"COMMENT ON TABLE {SCHEMA}.qgis_projects IS "
        "'QGIS projects: Project > Open From > PostgreSQL, schema asmdb'"
    )


def downgrade() -> None:
    op.execute(f"DROP TABLE {SCHEMA}.qgis_projects")
    # Only asmdb's own styles go; the table stays while anyone else's styles are in it.
    op.execute(
        f"DELETE FROM public.layer_styles WHERE f_table_schema = '{SCHEMA}' AND stylename = 'asmdb'"
    )
    op.execute(
        """
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM public.layer_styles) THEN
                DROP TABLE public.layer_styles;
            END IF;
        END
        $$
        """
    )
