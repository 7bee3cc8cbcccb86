"""What a new analyst meets on the first day: defaults that work on a district-sized area."""

import json

import numpy as np
import pytest

from asm_db.modeling.options import BLOCK_SIZES, BLOCKS_PER_FOLD
from asm_db.modeling.protocols import TrainingDataError, choose_block_size, count_blocks


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
    assert "blocks of 0.04 degrees;" in given.stdout and "auto" not in given.stdout
    protocol = pg.execute(
        "SELECT parameters->'protocol' FROM asmdb.model_runs WHERE run_id = 2"
    ).fetchone()[0]
    assert protocol["block_size"] == 0.04 and protocol["block_size_auto"] is False


def test_train_refuses_a_block_size_that_is_not_a_size(loaded, cli):
    for bad in ("big", "0", "-1", "nan"):
        done = cli("train", "--block-size", bad)
        assert done.code == 2 and "--block-size" in done.stderr, bad


def test_demo_and_quick_start_need_no_block_size():
    from pathlib import Path

    root = Path(__file__).parent.parent
    demo = (root / "scripts" / "demo").read_text()
    readme = (root / "README.md").read_text()
    quick_start = readme[readme.index("## Using it") : readme.index("### Commands")]
    assert "--block-size" not in demo and "--block-size" not in quick_start
    assert "asmdb sample-data" in quick_start
