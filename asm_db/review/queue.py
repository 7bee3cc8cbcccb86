"""The review loop: choose tiles to check, take reviews back (from QGIS or a file), and turn
them into labels.

A queue holds three kinds of tiles for a run, each tile once: hotspots (the most likely mines,
at or above the map threshold, with no label nearby), uncertain tiles (probability near the
threshold), both spread out so that reviewers do not look at one cluster; and a stratified
random sample over the map's probability classes, low ones included, whose inclusion
probabilities make unbiased area and accuracy estimates possible (`asm_db.review.area`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from sqlalchemy.engine import Engine

from asm_db.db import locks
from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import MAX_ROWS_SHOWN, AsmdbError, InputError
from asm_db.gdal_paths import gdal_path
from asm_db.ingest.columns import refuse_nul
from asm_db.maps.registry import resolve_map
from asm_db.probability_classes import sql_params
from asm_db.publish.files import check_target
from asm_db.review import change_queue
from asm_db.review.imagery import ReviewExport, choose_imagery, write_review_file
from asm_db.review.options import MAX_NOTES, MAX_REVIEWER, QueueOptions
from asm_db.review.sampling import SAMPLE, Candidates, choose_tiles

STATUSES = ("pending", "confirmed", "rejected", "unclear")
OPTIONAL_COLUMNS = ("reviewer", "reviewed_at", "notes")  # in the order review_stage_copy has
# The longest text a review file may give, per column (the web page's limits).
MAX_LENGTHS = {"reviewer": MAX_REVIEWER, "notes": MAX_NOTES}
# Checked against the queue row of each review_id when the file has them (exports do); an
# empty change_id (a map row beside change rows) is not checked.
MATCHED_COLUMNS = ("tile_id", "run_id", "change_id")
QUEUE = QueueOptions()


@dataclass(frozen=True)
class QueueResult:
    run_id: int
    hotspots: int
    uncertain: int
    sampled: dict[str, int]
    added: int
    remarked: int  # rows queued earlier for another reason that the sample drew
    notes: list[str]  # why fewer hotspots or uncertain tiles than asked for, and the like


@dataclass(frozen=True)
class ImportResult:
    path: str
    rows: int  # the file's rows
    changed: int  # the reviews this import changed (a row that says what is stored: none)
    labels_added: int
    labels_updated: int
    contradictions: list[tuple[int, str]]
    labels_removed: int = 0  # review labels no answer makes any more (see reviews_to_labels)


@dataclass(frozen=True)
class ReviewLabels:
    """What turning reviews into labels wrote: labels new, updated and removed (only those
    this call changed), and the reviews a field label contradicts (review_id, its unique_id)."""

    added: int
    updated: int
    contradictions: list[tuple[int, str]]
    removed: int = 0


def make_queue(
    engine: Engine,
    run_id: int | None = None,
    *,
    hotspots: int = QUEUE.hotspots,
    uncertain: int = QUEUE.uncertain,
    per_stratum: int = QUEUE.per_stratum,
    threshold: float = QUEUE.threshold,
    min_label_distance: float = QUEUE.min_label_distance,
    spacing: float = QUEUE.spacing,
    seed: int = QUEUE.seed,
    plan: bool = False,
) -> QueueResult:
    """Choose the tiles of a run's map (default: the promoted map) to review, and queue them;
    with `plan`, the stratified sample takes the sizes of the map's last plan (`asmdb review
    plan`) instead of `per_stratum` in each class.

    The choice is `asm_db.review.sampling.choose_tiles`; this reads its candidates and the
    tiles already queued, and writes what it chose."""
    from asm_db.review.planning import last_plan

    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        chosen_map = resolve_map(pg, run_id=run_id)
        run_id = chosen_map.run_id
        sizes: int | dict[str, int] = per_stratum
        if plan:
            found = last_plan(pg, map_id=chosen_map.map_id)
            if found is None:
                raise AsmdbError(
                    f"run {run_id}'s map has no sample plan: `asmdb review plan --run {run_id} "
                    "--target-se KM2` makes one"
                )
            sizes = found["sample_sizes"]
        rows = pg.execute(
            load_sql("review/candidates"),
            {"map_id": chosen_map.map_id, "min_label_distance": min_label_distance, **sql_params()},
        ).fetchall()
        queued = dict(pg.execute(load_sql("review/queued_tiles"), {"run_id": run_id}).fetchall())
        choice = choose_tiles(
            Candidates.from_rows(rows),
            queued,
            hotspots=hotspots,
            uncertain=uncertain,
            per_stratum=sizes,
            threshold=threshold,
            min_label_distance=min_label_distance,
            spacing=spacing,
            seed=seed,
        )
        added, remarked = pg.execute(
            load_sql("review/queue_insert"),
            {
                "run_id": run_id,
                "map_id": chosen_map.map_id,
                "sample_reason": SAMPLE,
                "tile_ids": [c[0] for c in choice.rows],
                "strata": [c[1] for c in choice.rows],
                "reasons": [c[2] for c in choice.rows],
                "inclusion": [c[3] for c in choice.rows],
            },
        ).fetchone()
        notes = list(choice.notes)
        if remarked:
            notes.append(
                f"{remarked} tile(s) queued earlier as hotspot or uncertain were drawn in the "
                "stratified sample: their rows (and reviews) are sample rows now"
            )
        return QueueResult(
            run_id,
            choice.hotspots,
            choice.uncertain,
            choice.sampled,
            int(added),
            int(remarked),
            notes,
        )


def export_queue(
    engine: Engine,
    out: str | Path,
    run_id: int | None = None,
    *,
    imagery: bool = False,
    imagery_names: list[str] | None = None,
) -> ReviewExport:
    """Write one run's queue (default: the promoted map's run) to a GeoPackage, style by
    status embedded, for offline review; with `imagery` (or `imagery_names`, one), the imagery
    of its map's period around each queued tile (`asm_db.review.imagery`)."""
    out = Path(out)
    if out.suffix.lower() != ".gpkg":
        raise InputError(out, "the review file must be a GeoPackage (.gpkg)")
    check_target(out, gdal=True)
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        chosen = resolve_map(pg, run_id=run_id)
        run_id = chosen.run_id
        frame = gpd.read_postgis(
            load_sql("review/queue_rows"), conn, geom_col="geom", params={"run_id": run_id}
        )
        if frame.empty:
            raise AsmdbError(
                f"run {run_id} has no review queue: `asmdb review queue --run {run_id}` makes one"
            )
        layers = []
        if imagery or imagery_names:
            layers = choose_imagery(
                pg,
                map_id=chosen.map_id,
                change_id=None,
                tiles=frame.geometry.bounds.to_numpy(),
                names=imagery_names,
            )
    for column in ("reviewer", "notes"):
        frame[column] = frame[column].astype("string")
    frame["reviewed_at"] = frame["reviewed_at"].astype("string")
    return write_review_file(frame, out, layers)


def _review_layer(path: Path) -> str:
    """The layer of a review GeoPackage to read: its only layer whatever its name (QGIS saves
    under the name one types), else `review_queue`. QGIS's table of styles is not a layer."""
    names = [str(n) for n in pyogrio.list_layers(gdal_path(path))[:, 0] if n != "layer_styles"]
    if len(names) == 1:
        return names[0]
    if "review_queue" in names:
        return "review_queue"
    raise InputError(
        path,
        f"has {len(names)} layers ({', '.join(names) or 'none'}) and none is named "
        "review_queue: save the reviews as a file of their own, or name their layer review_queue",
    )


def _read_reviews(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise InputError(path, "no such file")
    try:
        if path.suffix.lower() == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        else:
            layer = _review_layer(path)
            frame = pd.DataFrame(
                pyogrio.read_dataframe(gdal_path(path), layer=layer, read_geometry=False)
            )
    except InputError:
        raise
    except Exception as exc:  # any reader failure is the file's, reported as one line
        raise InputError(
            path, f"cannot read: {str(exc).splitlines()[0] if str(exc) else exc}"
        ) from None
    # A file of change reviews may answer in answer_from/answer_to alone.
    answered = any(c in frame.columns for c in change_queue.ANSWER_COLUMNS)
    for column in ("review_id",) if answered else ("review_id", "status"):
        if column not in frame.columns:
            found = ", ".join(str(c) for c in frame.columns) or "none"
            raise InputError(path, f"is missing a column (columns found: {found})", column=column)
    return frame


def _iso_time(text: str | None) -> bool:
    """Whether a reviewed_at text is empty or an ISO 8601 date or time (25/11/2026 is not:
    day and month could be read either way)."""
    if text is None:
        return True
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _clean(value) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):  # NaN, NaT, NA
        return None
    text = str(value).strip()
    return text or None


def _clean_answer(value) -> str | None:
    """A status or answer as stored: trimmed, lower case (`Confirmed` is confirmed)."""
    text = _clean(value)
    return text.lower() if text is not None else None


def import_reviews(
    engine: Engine,
    path: str | Path,
    notify: locks.Notify | None = None,
    *,
    replace: bool = False,
) -> ImportResult:
    """Take reviews back from a file (GeoPackage from `export_queue`, or CSV) by review_id,
    then turn confirmed and rejected reviews into labels, all in one transaction.

    A file holds one row per review_id. A row that would change an answer given by someone
    other than the row's reviewer (or by no one named, or from a row naming no reviewer) is
    refused, and the file with it, unless `replace`: the web page asks the same before it
    replaces another's answer.

    It holds the labels writers' lock (see `asm_db.db.locks`): two imports, or an import and
    `asmdb ingest labels`, rewrite the same review labels and queue rows, and would deadlock
    side by side; the second waits for the first, saying so through `notify`.
    """
    path = Path(path)
    frame = _read_reviews(path)
    ids = pd.to_numeric(frame["review_id"], errors="coerce")
    bad = np.flatnonzero(ids.isna().to_numpy() | (ids % 1 != 0).to_numpy())
    if len(bad):
        raise InputError(path, "review_id is not a whole number", rows=bad + 1, column="review_id")
    repeated = ids.duplicated(keep=False).to_numpy()
    if repeated.any():
        first = ids[repeated].iloc[0]
        rows = np.flatnonzero((ids == first).to_numpy()) + 1
        raise InputError(
            path,
            f"review_id {int(first)} is given more than once: a file holds one answer per review",
            rows=rows,
            column="review_id",
        )
    read = ("status", *change_queue.ANSWER_COLUMNS, *OPTIONAL_COLUMNS)
    refuse_nul(path, frame, [c for c in read if c in frame.columns])
    for column, longest in MAX_LENGTHS.items():
        if column in frame.columns:
            long = [i for i, v in enumerate(frame[column]) if len(_clean(v) or "") > longest]
            if long:
                raise InputError(
                    path,
                    f"{column} longer than {longest:,} characters",
                    rows=np.array(long) + 1,
                    column=column,
                )
    answers = change_queue.read_answers(path, frame, _clean_answer)
    if "status" in frame.columns:
        status = frame["status"].map(_clean_answer)
    else:
        status = pd.Series([None] * len(frame), dtype=object)
    # An empty status is for a change row answered per period (checked once staged).
    has_answer = np.array(
        [a is not None or b is not None for a, b in zip(*answers.values(), strict=True)]
    )
    bad = np.flatnonzero(
        ~(status.isin(STATUSES).to_numpy() | (status.isna().to_numpy() & has_answer))
    )
    if len(bad):
        raise InputError(
            path, f"status must be one of {', '.join(STATUSES)}", rows=bad + 1, column="status"
        )
    optional = {c: frame[c] if c in frame.columns else None for c in OPTIONAL_COLUMNS}
    if optional["reviewed_at"] is not None:
        bad = [i for i, v in enumerate(optional["reviewed_at"]) if not _iso_time(_clean(v))]
        if bad:
            raise InputError(
                path,
                "reviewed_at must be an ISO 8601 time, e.g. 2026-11-25T14:30:00Z or 2026-11-25",
                rows=np.array(bad) + 1,
                column="reviewed_at",
            )
    keys = {}
    for column in MATCHED_COLUMNS:
        if column in frame.columns:
            keys[column] = pd.to_numeric(frame[column], errors="coerce")
            # tile_id and run_id: every row has one; change_id only change rows
            given = frame[column].map(_clean).notna().to_numpy() | (column != "change_id")
            number = keys[column].notna().to_numpy()
            whole = (keys[column] % 1 == 0).to_numpy()
            bad = np.flatnonzero(np.where(number, ~whole, given))
            if len(bad):
                raise InputError(
                    path, f"{column} is not a whole number", rows=bad + 1, column=column
                )
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        locks.hold(pg, "ingest labels", notify)
        # Staged with COPY, then taken in with one UPDATE ... FROM.
        with pg.cursor() as cur:
            cur.execute(load_sql("review/stage_create"))
            with cur.copy(load_sql("review/stage_copy")) as copy:
                for i in range(len(frame)):
                    copy.write_row(
                        [i + 1, int(ids.iloc[i]), status.iloc[i]]
                        + [_clean(v.iloc[i]) if v is not None else None for v in optional.values()]
                        + [answers[c][i] for c in change_queue.ANSWER_COLUMNS]
                        + [
                            int(keys[c].iloc[i])
                            if c in keys and pd.notna(keys[c].iloc[i])
                            else None
                            for c in MATCHED_COLUMNS
                        ]
                    )
            mismatched = cur.execute(load_sql("review/stage_mismatches")).fetchall()
            if mismatched:
                raise InputError(
                    path,
                    "the review_id is of another tile or run (or change) in this database (a file "
                    "from another database, or from before a restore?); nothing was imported",
                    rows=[r[0] for r in mismatched],
                    column=mismatched[0][1],
                )
            change_queue.check_staged(cur, path)
            cur.execute(load_sql("review/stage_incoming"))
            replacing = cur.execute(load_sql("review/stage_replacing")).fetchall()
            if replacing and not replace:
                raise InputError(
                    path,
                    f"would replace answers given by {_reviewers(r[1] for r in replacing)}; "
                    "nothing was imported: give your name in reviewer where they are your own "
                    "answers, or import with --replace to replace them",
                    rows=[r[0] for r in replacing],
                    column="reviewer",
                )
            result = cur.execute(load_sql("review/update_from_stage")).fetchall()
            missing = [n for kind, n in result if kind == "missing"]
            changed = sum(n for kind, n in result if kind == "changed")
        if missing:
            raise InputError(
                path, "no such review_id in asmdb.review_queue", rows=missing, column="review_id"
            )
        labels = _to_labels(pg)
    return ImportResult(
        str(path),
        len(frame),
        int(changed),
        labels.added,
        labels.updated,
        labels.contradictions,
        labels.removed,
    )


def _reviewers(names) -> str:
    """Who gave the answers a file would replace: 'ana, bo and no one named'."""
    names = set(names)
    shown = sorted(n for n in names if n is not None)
    shown += ["no one named"] if None in names else []
    if len(shown) > MAX_ROWS_SHOWN:
        shown = shown[:MAX_ROWS_SHOWN] + [f"{len(shown) - MAX_ROWS_SHOWN} more"]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def _to_labels(pg) -> ReviewLabels:
    added = updated = removed = 0
    contradictions = []
    for kind, a, b in pg.execute(load_sql("review/reviews_to_labels")).fetchall():
        if kind == "label":
            added, updated = int(a), int(b)
        elif kind == "removed":
            removed = int(a)
        else:
            contradictions.append((int(a), b))
    pg.execute("ANALYZE asmdb.labels")
    return ReviewLabels(added, updated, contradictions, removed)


def reviews_to_labels(engine: Engine, notify: locks.Notify | None = None) -> ReviewLabels:
    """Turn confirmed/rejected reviews (made in QGIS, say) into labels, and remove the review
    labels of answers no longer confirmed or rejected; idempotent. Holds the labels writers'
    lock, as `import_reviews` does."""
    with connect(engine) as conn:
        check_ready(conn)
        locks.hold(driver(conn), "ingest labels", notify)
        return _to_labels(driver(conn))
