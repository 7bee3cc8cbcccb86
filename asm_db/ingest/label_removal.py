"""Deleting labels: by `unique_id` or by the source file they came from, in one transaction.
Ids that match no label stop the whole deletion, so a typo never deletes a part."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from asm_db.db import locks
from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError, InputError, NotFound

MAX_SHOWN = 5


def unique_ids_from_file(path: str | Path) -> list[str]:
    """The `unique_id` column of a label file (any format `asmdb ingest labels` reads), or
    of a text file with one id per line."""
    from asm_db.ingest.columns import match_columns
    from asm_db.ingest.labels import read_label_file

    path = Path(path)
    if path.suffix.lower() == ".txt" or not path.suffix:
        if not path.exists():
            raise InputError(path, "no such file")
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    frame = match_columns(read_label_file(path), ["unique_id"])
    if "unique_id" not in frame.columns:
        from asm_db.ingest.columns import columns_found

        raise InputError(path, f"no unique_id column ({columns_found(frame.columns)})")
    return [str(v) for v in frame["unique_id"] if not pd.isna(v)]


def delete_labels(
    engine,
    unique_ids: Sequence[str] = (),
    *,
    source_file: str | None = None,
    confirm: Callable[[str], None] | None = None,
    notify: locks.Notify | None = None,
) -> int:
    """Delete the labels with these `unique_ids` and (if given) every label ingested from the
    file named `source_file`; returns how many. Nothing is deleted when an id matches no
    label, when the source file has none, or when `confirm` raises."""
    wanted = list(dict.fromkeys(str(u) for u in unique_ids))
    if not wanted and source_file is None:
        raise AsmdbError("give the unique_ids of the labels to delete, or their source file")
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        locks.hold(pg, "ingest labels", notify)
        gone = {
            row[0]
            for row in pg.execute(
                load_sql("ingest/labels_delete"), {"unique_ids": wanted, "source_file": source_file}
            )
        }
        missing = [u for u in wanted if u not in gone]
        if missing:
            shown = ", ".join(missing[:MAX_SHOWN])
            more = f" and {len(missing) - MAX_SHOWN} more" if len(missing) > MAX_SHOWN else ""
            raise NotFound(f"no label with unique_id {shown}{more}; nothing deleted")
        if source_file is not None and not gone:
            raise NotFound(f"no label came from a file named '{source_file}'")
        if confirm is not None:
            confirm(f"delete {len(gone)} label(s)?")
        pg.execute("ANALYZE asmdb.labels")
    return len(gone)
