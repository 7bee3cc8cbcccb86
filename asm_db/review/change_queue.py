"""The review sample of a change map: a stratified random sample over the change classes, each
tile answered for both periods, from which `asm_db.review.change_area` estimates the area of
new and of gone mining.

Strata are the change classes new, gone, persistent and absent (no_data tiles are not
sampled). New and gone mining are rare, so every stratum first gets `min_per_stratum` tiles
(all of its tiles if it has fewer); the rest of `sample_size` is shared in proportion to the
strata's sizes (Olofsson et al. 2014, section 5.1). A change has one sample: drawing a second
would change the inclusion probabilities the estimate relies on. It is drawn with the sizes of
the change's last plan (`asm_db.review.planning`) where asked, and can be extended: more tiles
drawn at random from each stratum's tiles not yet sampled make, with those sampled, a
stratified random sample of the larger size, whose inclusion probabilities every sample tile of
the stratum then carries.

A reviewer answers each sample tile for each period, from that period's imagery:
`answer_from` (the earlier map's period) and `answer_to` (the later one), each confirmed
(mined), rejected (not mined) or unclear. The tile's reference class follows
(`review_queue.reference_class`); its `status` too: pending until both are answered, unclear
when either is, else the later period's answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from asm_db.change.classes import SAMPLED_CLASSES
from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError, InputError
from asm_db.publish.files import check_target
from asm_db.review import estimation
from asm_db.review.estimation import allocate, draw
from asm_db.review.imagery import ReviewExport, choose_imagery, write_review_file
from asm_db.review.options import ChangeQueueOptions

CHANGE_SAMPLE = "change sample"
ANSWER_COLUMNS = ("answer_from", "answer_to")
ANSWERS = ("confirmed", "rejected", "unclear")
NOT_ANSWERED = ("", "pending")
CHANGE_QUEUE = ChangeQueueOptions()


@dataclass(frozen=True)
class ChangeQueueResult:
    change_id: int
    tiles: dict[str, int]  # stratum -> tiles in the change
    sampled: dict[str, int]  # stratum -> tiles drawn
    added: int
    plan_id: int | None = None  # the plan whose sizes were drawn
    inclusion: dict[str, float] | None = None  # stratum -> inclusion probability, if extended


def _members(pg, change_id: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The tiles a change's sample is drawn from, and each stratum's (indices into them)."""
    rows = pg.execute(load_sql("review/change_tiles"), {"change_id": change_id}).fetchall()
    tile_id = np.array([r[0] for r in rows], dtype=np.int64)
    klass = np.array([r[1] for r in rows], dtype=object)
    members = {k: np.flatnonzero(klass == k) for k in SAMPLED_CLASSES}
    return tile_id, {k: m for k, m in members.items() if len(m)}


def _queue(pg, change_id: int, tile_ids: list[int], inclusion: list[float]) -> int:
    cursor = pg.execute(
        load_sql("review/change_queue_insert"),
        {
            "change_id": change_id,
            "reason": CHANGE_SAMPLE,
            "tile_ids": tile_ids,
            "inclusion": inclusion,
        },
    )
    return cursor.rowcount


def make_change_queue(
    engine: Engine,
    change_id: int | None = None,
    *,
    sample_size: int = CHANGE_QUEUE.sample_size,
    min_per_stratum: int = CHANGE_QUEUE.min_per_stratum,
    seed: int = CHANGE_QUEUE.seed,
    plan: bool = False,
) -> ChangeQueueResult:
    """Draw the stratified review sample of a change (default: the newest) and queue it; with
    `plan`, of the sizes of the change's last plan (`asmdb review plan --change`)."""
    from asm_db.change.compute import get_change
    from asm_db.review.planning import last_plan

    if sample_size < 0 or min_per_stratum < 0:
        raise AsmdbError("--sample-size and --min-per-stratum must be 0 or more")
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        change_id = get_change(pg, change_id).change_id
        queued = pg.execute(load_sql("review/change_queued"), {"change_id": change_id}).fetchone()
        if queued[0]:
            raise AsmdbError(
                f"change {change_id} has its review sample already ({queued[0]} tiles): a "
                f"change has one sample: use --extend N to add to it (`asmdb review queue "
                f"--change {change_id} --extend N`)"
            )
        tile_id, members = _members(pg, change_id)
        sizes = {k: len(m) for k, m in members.items()}
        plan_id = None
        if plan:
            found = last_plan(pg, change_id=change_id)
            if found is None:
                raise AsmdbError(
                    f"change {change_id} has no sample plan: `asmdb review plan --change "
                    f"{change_id} --target-se KM2` makes one"
                )
            plan_id = found["plan_id"]
            take = {k: min(int(found["sample_sizes"].get(k, 0)), n) for k, n in sizes.items()}
        else:
            take = allocate(sizes, sample_size, min_per_stratum)
        drawn = draw(members, take, np.random.default_rng(seed))
        added = _queue(
            pg, change_id, [int(tile_id[i]) for i, _, _ in drawn], [p for _, _, p in drawn]
        )
        return ChangeQueueResult(change_id, sizes, take, added, plan_id)


def stratum_variance(
    tiles: int, area_share: float, sampled: int, answers: list[float], calibrated: float
) -> float:
    """A stratum's part of the variance of a class's area estimate (as a share of the area),
    w^2 (1 - n/N) s^2 / n: s^2 from the reviewed answers (0/1) where two or more, else from the
    calibrated share p, p (1 - p); a stratum not sampled counts as if it had one tile."""
    n = max(sampled, 1)
    if len(answers) >= 2:
        y = np.asarray(answers, dtype=float)
        s2 = estimation.spread(y, y)
    else:
        s2 = calibrated * (1 - calibrated)
    return area_share**2 * max(1 - sampled / tiles, 0.0) * s2 / n


def extend_change_queue(
    engine: Engine,
    change_id: int | None = None,
    n: int = 0,
    *,
    seed: int = CHANGE_QUEUE.seed,
) -> ChangeQueueResult:
    """Add `n` tiles to a change's review sample (default: the newest change's): to the strata
    short of the change's last plan first, then to those that add most to the variance of the
    areas of new and gone mining; drawn at random from each stratum's tiles not yet sampled,
    with the inclusion probabilities of all its sample tiles set for the union. Reviewed
    answers are kept; the new rows are pending."""
    from asm_db.change.compute import get_change
    from asm_db.review.planning import change_design, last_plan

    if n < 1:
        raise AsmdbError("--extend N: N must be 1 or more")
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        change_id = get_change(pg, change_id).change_id
        if not pg.execute(load_sql("review/change_queued"), {"change_id": change_id}).fetchone()[0]:
            raise AsmdbError(
                f"change {change_id} has no review sample to extend: `asmdb review queue "
                f"--change {change_id}` draws one"
            )
        tile_id, members = _members(pg, change_id)
        index = {int(t): i for i, t in enumerate(tile_id)}
        sampled: dict[str, list[int]] = {k: [] for k in members}
        answers: dict[str, list[str]] = {k: [] for k in members}
        for tile, stratum, reference in pg.execute(
            load_sql("review/change_sampled"), {"change_id": change_id}
        ).fetchall():
            if stratum in sampled and int(tile) in index:
                sampled[stratum].append(index[int(tile)])
                if reference is not None:
                    answers[stratum].append(reference)
        sizes = {k: len(m) for k, m in members.items()}
        room = {k: sizes[k] - len(sampled[k]) for k in members}
        if sum(room.values()) == 0:
            raise AsmdbError(f"change {change_id}: every tile is in its review sample already")
        found = last_plan(pg, change_id=change_id)
        shortfall = (
            {k: int(found["sample_sizes"].get(k, 0)) - len(sampled[k]) for k in members}
            if found
            else None
        )
        design = change_design(pg, change_id)
        area = sum(s["area_km2"] for s in design.values())
        variance = {
            k: sum(
                stratum_variance(
                    sizes[k],
                    design[k]["area_km2"] / area,
                    len(sampled[k]),
                    [float(a == c) for a in answers[k]],
                    design[k]["calibrated"][c],
                )
                for c in ("new", "gone")
            )
            for k in members
        }
        add = estimation.extension_sizes(n, room, shortfall, variance)
        taken = sum(len(v) for v in sampled.values())
        rng = np.random.default_rng([seed, taken])  # another draw than the first, repeatable
        new, inclusion = estimation.extend(members, sampled, add, rng)
        grown = {k: p for k, p in inclusion.items() if add.get(k, 0) > 0}
        pg.execute(
            load_sql("review/change_inclusion_update"),
            {"change_id": change_id, "strata": list(grown), "inclusion": list(grown.values())},
        )
        added = _queue(
            pg, change_id, [int(tile_id[i]) for i, _ in new], [inclusion[k] for _, k in new]
        )
        return ChangeQueueResult(
            change_id,
            sizes,
            add,
            added,
            found["plan_id"] if found else None,
            inclusion,
        )


def export_change_queue(
    engine: Engine,
    out: str | Path,
    change_id: int | None = None,
    *,
    imagery: bool = False,
    imagery_names: list[str] | None = None,
) -> ReviewExport:
    """Write a change's review sample (default: the newest change's) to a GeoPackage, with
    both periods, both probabilities and the answer columns, for offline review; with
    `imagery` (or `imagery_names`: from, then to), the imagery of both periods around each
    sampled tile (`asm_db.review.imagery`)."""
    from asm_db.change.compute import get_change

    out = Path(out)
    if out.suffix.lower() != ".gpkg":
        raise InputError(out, "the review file must be a GeoPackage (.gpkg)")
    check_target(out, gdal=True)
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        change_id = get_change(pg, change_id).change_id
        frame = gpd.read_postgis(
            load_sql("review/change_rows"), conn, geom_col="geom", params={"change_id": change_id}
        )
        if frame.empty:
            raise AsmdbError(
                f"change {change_id} has no review sample: `asmdb review queue --change "
                f"{change_id}` draws one"
            )
        layers = []
        if imagery or imagery_names:
            layers = choose_imagery(
                pg,
                map_id=None,
                change_id=change_id,
                tiles=frame.geometry.bounds.to_numpy(),
                names=imagery_names,
            )
    for column in (*ANSWER_COLUMNS, "reviewer", "notes", "period_from", "period_to"):
        frame[column] = frame[column].astype("string")
    frame["reviewed_at"] = frame["reviewed_at"].astype("string")
    return write_review_file(frame, out, layers)


def read_answers(path: Path, frame: pd.DataFrame, clean) -> dict[str, list[str | None]]:
    """The answer columns of a review file (None where not answered), as `clean` gives them
    (the import's: trimmed, lower case), checked: one line naming the file, rows and column on
    a value that is not confirmed, rejected or unclear."""
    answers = {}
    for column in ANSWER_COLUMNS:
        if column not in frame.columns:
            answers[column] = [None] * len(frame)
            continue
        values = [clean(v) for v in frame[column]]
        bad = [i for i, v in enumerate(values) if v is not None and v not in ANSWERS + NOT_ANSWERED]
        if bad:
            raise InputError(
                path,
                f"{column} must be one of {', '.join(ANSWERS)} (or empty while pending)",
                rows=np.array(bad) + 1,
                column=column,
            )
        answers[column] = [None if v in NOT_ANSWERED else v for v in values]
    return answers


# What the staged file may not say, by kind (see sql/review/stage_change_problems.sql).
PROBLEMS = {
    "answer on a map review": (
        "answer_from and answer_to are for the review sample of a change; these rows review a "
        "map: answer them in status"
    ),
    "no status": "status must be one of pending, confirmed, rejected, unclear",
    "status on a change review": (
        "these rows review a change: answer each period in answer_from and answer_to "
        "(confirmed, rejected or unclear); their status follows from those"
    ),
}


def check_staged(pg, path: Path) -> None:
    """Refuse, naming rows and column, a staged file whose answers do not fit its rows' kind."""
    found = pg.execute(load_sql("review/stage_change_problems")).fetchall()
    if found:
        kind, column = found[0][1], found[0][2]
        rows = [r[0] for r in found if r[1] == kind and r[2] == column]
        raise InputError(path, PROBLEMS[kind], rows=rows, column=column)
