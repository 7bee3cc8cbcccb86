"""Deleting a run: its maps with their predictions partitions, its evaluation rows and its
review rows, in one transaction. A run whose reviews were answered is kept unless those
reviews are to go too: they are field work, not something a new run remakes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from psycopg import sql

from asm_db.db import locks
from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError, NotFound

# Called with what is about to go, inside the transaction; raises to keep everything.
Confirm = Callable[[str], None]


@dataclass(frozen=True)
class RunDeleted:
    run_id: int
    maps: int
    reviews: int
    promoted: bool  # one of its maps was the one asmdb.latest_predictions showed


def delete_run(
    engine,
    run_id: int,
    *,
    with_reviews: bool = False,
    confirm: Confirm | None = None,
    notify: locks.Notify | None = None,
) -> RunDeleted:
    """Delete run `run_id` with its maps (and their partitions of `asmdb.predictions`), its
    evaluation rows and review rows. Refused while the run has answered reviews unless
    `with_reviews`; `confirm` sees what is about to go before anything is committed."""
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        locks.hold(pg, "write map", notify)
        info = pg.execute(load_sql("runs/run_delete_info"), {"run_id": run_id}).fetchone()
        if info is None:
            raise NotFound(f"no run {run_id}")
        _, maps, promoted, answered, queued, changes = info
        if answered and not with_reviews:
            raise AsmdbError(
                f"run {run_id} has {answered} answered review(s) in asmdb.review_queue "
                "(of its maps, or of change maps made from or to them); add --with-reviews to "
                "delete them with it"
            )
        what = f"run {run_id}, its {maps} map(s)"
        if queued:
            what += f" and its {queued} review row(s) ({answered} answered)"
        if changes:
            what += f", {changes} change map(s) made from or to its maps"
        if promoted:
            what += " (a promoted map among them)"
        if confirm is not None:
            confirm(f"delete {what}?")
        map_ids = [
            m for (m,) in pg.execute("SELECT map_id FROM asmdb.maps WHERE run_id = %s", (run_id,))
        ]
        partitions = pg.execute(load_sql("runs/run_partitions"), {"run_id": run_id}).fetchall()
        partitions += pg.execute(
            load_sql("change/change_partitions_of_maps"), {"map_ids": map_ids}
        ).fetchall()
        for schema, table in partitions:
            pg.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(schema, table)))
        pg.execute(load_sql("runs/run_delete"), {"run_id": run_id})
    return RunDeleted(run_id, maps, queued, bool(promoted))
