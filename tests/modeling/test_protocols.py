"""Spatial CV (asm_db.modeling.protocols): folds of whole blocks that no label straddles, no more
optimistic than a random split, calibration kept off the scored rows; the block size chosen as
the largest that leaves three blocks per fold, recorded with the run, never needed on the
command line."""

import json
from pathlib import Path

import numpy as np
import pytest

from asm_db.modeling.options import BLOCK_SIZES, BLOCKS_PER_FOLD
from asm_db.modeling.protocols import (
    Protocol,
    TrainingDataError,
    choose_block_size,
    count_blocks,
    spatial_blocks,
)
from asm_db.runs.train import train_run


def _square(width: float, n: int = 40, origin=(-11.5, 8.0)) -> np.ndarray:
    """`n` x `n` label positions spread evenly over a square `width` degrees wide."""
    steps = (np.arange(n) + 0.5) * width / n
    lon, lat = np.meshgrid(origin[0] + steps, origin[1] + steps)
    return np.column_stack([lon.ravel(), lat.ravel()])


@pytest.mark.parametrize("width", [5.0, 1.5, 0.4, 0.24, 0.08])
def test_auto_block_size_is_the_largest_leaving_three_blocks_per_fold(width):
    lonlat = _square(width)
    chosen = choose_block_size(lonlat, folds=5)
    assert chosen in BLOCK_SIZES
    assert count_blocks(lonlat, chosen) >= BLOCKS_PER_FOLD * 5
    larger = [size for size in BLOCK_SIZES if size > chosen]
    assert all(count_blocks(lonlat, size) < BLOCKS_PER_FOLD * 5 for size in larger)


def test_auto_block_size_falls_back_then_refuses():
    # Labels on 3 x 3 spots 0.02 degrees apart: 9 blocks at most, fewer than 15, more than 7.
    spots = _square(0.06, n=3)
    chosen = choose_block_size(spots, folds=5)
    assert count_blocks(spots, chosen) == 9  # the most there can be; at least 7 are needed
    assert all(count_blocks(spots, size) < 7 for size in BLOCK_SIZES if size > chosen)
    with pytest.raises(TrainingDataError, match="even at 0.01 degrees.*--cv seed"):
        choose_block_size(spots[:4], folds=5)


@pytest.mark.slow
def test_train_defaults_to_auto_block_size_and_records_it(loaded, cli, pg):
    done = cli("train", "--bootstrap", "0", "--no-map", "--json")
    assert done.code == 0, done.stderr
    run = json.loads(done.stdout)
    # The test sample spans 0.24 degrees: 0.1 leaves 9 blocks, 0.05 leaves 25.
    assert run["block_size"] == 0.05 and run["counts"]["spatial_blocks"] == 25
    assert "spatial CV blocks of 0.05 degrees (25 blocks; --block-size auto" in done.stderr
    shown = cli("runs", "show", "1")
    assert "--block-size 0.05" in shown.stdout  # the command that reproduces it
    protocol = pg.execute("SELECT parameters->'protocol' FROM asmdb.model_runs").fetchone()[0]
    assert protocol["block_size"] == 0.05 and protocol["block_size_auto"] is True

    given = cli("train", "--bootstrap", "0", "--no-map", "--block-size", "0.04")
    assert given.code == 0, given.stderr
    assert "blocks of 0.04 degrees;" in given.stdout and "--block-size auto" not in given.stdout
    protocol = pg.execute(
        "SELECT parameters->'protocol' FROM asmdb.model_runs WHERE run_id = 2"
    ).fetchone()[0]
    assert protocol["block_size"] == 0.04 and protocol["block_size_auto"] is False


def test_train_refuses_a_block_size_that_is_not_a_size(loaded, cli):
    for bad in ("big", "0", "-1", "nan"):
        done = cli("train", "--block-size", bad)
        assert done.code == 2 and "--block-size" in done.stderr, bad


def test_demo_and_quick_start_need_no_block_size():
    root = Path(__file__).parents[2]
    demo = (root / "scripts" / "demo").read_text()
    readme = (root / "README.md").read_text()
    quick_start = readme[readme.index("## Using it") : readme.index("### Commands")]
    assert "--block-size" not in demo and "--block-size" not in quick_start
    assert "asmdb sample-data" in quick_start


# The test sample spans 0.24 degrees: blocks of 0.05 give 25 of them. No bootstrap intervals
# unless a test asserts them.
SPATIAL = Protocol(block_size=0.05, bootstrap=0)


def _fold_labels(pg, run_id):
    rows = pg.execute(
        "SELECT e.fold, e.label_id, l.lon, l.lat FROM asmdb.run_evaluations e "
        "JOIN asmdb.labels l USING (label_id) WHERE e.run_id = %s",
        (run_id,),
    ).fetchall()
    return rows


@pytest.mark.slow
def test_spatial_cv_is_not_more_optimistic_than_a_random_split(loaded):
    # The sample's mines cluster with a regional effect the features do not carry: a random
    # split keeps neighbours on both sides and scores that leak; blocked CV does not.
    random_split = train_run(loaded, protocol=Protocol(cv="seed", bootstrap=0))
    spatial = train_run(loaded, protocol=SPATIAL)
    assert spatial.fit.auc_uncalibrated <= random_split.fit.auc_uncalibrated
    assert spatial.fit.auc_calibrated <= random_split.fit.auc_calibrated
    assert spatial.metrics["protocol"] == "spatial" and random_split.metrics["protocol"] == "seed"


@pytest.mark.slow
def test_calibration_never_sees_the_rows_it_is_scored_on(loaded, pg):
    result = train_run(loaded, protocol=SPATIAL)
    rows = _fold_labels(pg, result.run_id)
    # Every joined row was scored once, out of fold.
    assert len(rows) == result.counts["training_rows"]
    by_fold = {}
    for fold, label_id, _, _ in rows:
        by_fold.setdefault(fold, set()).add(label_id)
    assert sorted(by_fold) == [0, 1, 2, 3, 4]
    folds = list(by_fold.values())
    for i, a in enumerate(folds):
        for b in folds[i + 1 :]:
            assert not a & b  # a label (edge labels with several tiles too) is in one fold
    # Whole blocks are held out: no block has labels in two folds.
    blocks = spatial_blocks(np.array([[r[2], r[3]] for r in rows]), 0.05)
    fold_of_block = {}
    for (fold, *_), block in zip(rows, blocks, strict=True):
        assert fold_of_block.setdefault(block, fold) == fold
    # Each fold's calibration was fitted on other folds' labels only.
    for fold, calibrated_on in result.fit.calibration_label_ids.items():
        assert not set(calibrated_on.tolist()) & by_fold[fold]
        assert set(calibrated_on.tolist()) == set().union(
            *(by_fold[k] for k in by_fold if k != fold)
        )


@pytest.mark.slow
def test_edge_labels_never_straddle_a_split(loaded, pg):
    result = train_run(loaded, protocol=SPATIAL)
    straddling = pg.execute(
        "SELECT label_id FROM asmdb.run_evaluations WHERE run_id = %s "
        "GROUP BY label_id HAVING count(*) > 1 AND count(DISTINCT fold) > 1",
        (result.run_id,),
    ).fetchall()
    several_tiles = pg.execute(
        "SELECT count(*) FROM (SELECT label_id FROM asmdb.run_evaluations WHERE run_id = %s "
        "GROUP BY label_id HAVING count(*) > 1) s",
        (result.run_id,),
    ).fetchone()[0]
    assert several_tiles > 0 and straddling == []
