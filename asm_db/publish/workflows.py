"""Loading and publishing composed in one transaction: what `asmdb db upgrade` and
`asmdb ingest labels` run.

Ingest and migrations know nothing of QGIS; these functions pass them the styling to do in the
same transaction, so a styling failure undoes the load and the database never holds data whose
layer styles are missing or stale.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Connection, Engine

from asm_db.db import locks
from asm_db.db.engine import current_revision, driver, head_revision, upgrade
from asm_db.ingest.labels import LabelIngestResult, ingest_labels
from asm_db.publish.styles import install_styles


def _style_all_at_head(conn: Connection) -> None:
    # Below the head revision the layers the styles describe may not exist yet.
    if current_revision(conn) == head_revision():
        install_styles(driver(conn))


def upgrade_database(engine: Engine, revision: str = "head") -> str:
    """Migrate to `revision` and, at the head, (re)write every layer's default QGIS style."""
    return upgrade(engine, revision, then=_style_all_at_head)


def _style_labels(conn: Connection) -> None:
    # The label layer's legend lists the (label, mine type) pairs present.
    install_styles(driver(conn), only={"labels"})


def ingest_labels_styled(
    engine: Engine,
    path: str | Path,
    notify: locks.Notify | None = None,
    *,
    date_column: str | None = None,
) -> LabelIngestResult:
    """Ingest a label file and refresh the label layer's QGIS style, all or nothing."""
    return ingest_labels(engine, path, notify, date_column=date_column, then=_style_labels)
