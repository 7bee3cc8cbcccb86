"""Feature sets as a user sees them: list, show (provenance), delete."""

from __future__ import annotations

from collections.abc import Callable

from psycopg import sql
from sqlalchemy.engine import Engine

from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import NotFound
from asm_db.features.write import get_provenance

LIST_COLUMNS = (
    "name",
    "n_features",
    "tiles",
    "made_by",
    "method",
    "source",
    "period_start",
    "period_end",
    "complete",
    "created_at",
)


def list_feature_sets(engine: Engine) -> list[dict]:
    """Every feature set with its number of tiles, origin, period and completeness."""
    with connect(engine) as conn:
        check_ready(conn)
        rows = driver(conn).execute(load_sql("features/feature_sets_list")).fetchall()
    return [dict(zip(LIST_COLUMNS, row, strict=True)) for row in rows]


def show_feature_set(engine: Engine, name: str, *, with_filters: bool = False) -> dict:
    """One feature set's row and provenance; the filter weights are left out unless asked for."""
    for row in list_feature_sets(engine):
        if row["name"] == name:
            break
    else:
        raise NotFound(f"no feature set named '{name}'")
    with connect(engine) as conn:
        provenance = get_provenance(driver(conn), name)[2]
    filters = provenance.get("filters")
    if filters and not with_filters:
        provenance["filters"] = {k: v for k, v in filters.items() if k != "weights"}
    provenance.pop("feature_names", None)
    return {**row, "provenance": provenance}


def delete_feature_set(
    engine: Engine, name: str, confirm: Callable[[str], None] | None = None
) -> int:
    """Delete a feature set (vectors, runs and maps cascade; the maps' partitions of
    `asmdb.predictions` are dropped); returns how many runs went with it. `confirm` sees what
    is about to go before anything is committed, and raises to keep it."""
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        with pg.transaction():
            partitions = pg.execute(
                load_sql("features/feature_set_partitions"), {"name": name}
            ).fetchall()
            params = {"name": name}
            map_ids = [m for (m,) in pg.execute(load_sql("features/feature_set_map_ids"), params)]
            partitions += pg.execute(
                load_sql("change/change_partitions_of_maps"), {"map_ids": map_ids}
            ).fetchall()
            row = pg.execute(load_sql("features/feature_set_delete"), {"name": name}).fetchone()
            if row is None:
                raise NotFound(f"no feature set named '{name}'")
            if confirm is not None:
                confirm(f"delete feature set '{name}' with its vectors and {row[1]} run(s)?")
            for schema, table in partitions:
                pg.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(schema, table)))
    return row[1]
