"""Map overviews: each map's tiles aggregated into blocks of cells for the web map's low zooms,
written with the map, shown for the promoted map, rebuilt by the migration."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from asm_db.db.engine import downgrade, head_revision, upgrade
from asm_db.grid import DEFAULT_GRID
from asm_db.maps.overviews import LEVELS, level_for_zoom
from asm_db.modeling.protocols import Protocol
from asm_db.runs.train import train_run

pytestmark = pytest.mark.slow  # trains a run


def _expected(pg, map_id: int) -> dict:
    """(cells, west, south) -> (tiles, at least half, max, mean), computed here from the map's
    predictions and the grid's numbering."""
    rows = pg.execute(
        "SELECT tile_id, probability FROM asmdb.predictions WHERE map_id = %s", (map_id,)
    ).fetchall()
    tile_ids = np.array([r[0] for r in rows], dtype=np.int64)
    probability = np.array([r[1] for r in rows])
    row, col = DEFAULT_GRID.cell_indices(tile_ids)
    out = {}
    size = DEFAULT_GRID.cell_size
    for level in LEVELS:
        blocks: dict = {}
        for r, c, p in zip(row // level.cells, col // level.cells, probability, strict=True):
            blocks.setdefault((int(r), int(c)), []).append(p)
        for (r, c), values in blocks.items():
            west = round(DEFAULT_GRID.origin_lon + c * level.cells * size, 6)
            south = round(DEFAULT_GRID.origin_lat + r * level.cells * size, 6)
            out[(level.cells, west, south)] = (
                len(values),
                sum(v >= 0.5 for v in values),
                max(values),
                float(np.mean(values)),
            )
    return out


def _shown(pg, table: str = "asmdb.latest_overviews", map_id: int | None = None) -> dict:
    where = "" if map_id is None else f"WHERE map_id = {int(map_id)}"
    rows = pg.execute(
        "SELECT cells, round(ST_XMin(geom)::numeric, 6)::float8, "
        "round(ST_YMin(geom)::numeric, 6)::float8, "
        "round((ST_XMax(geom) - ST_XMin(geom))::numeric, 6)::float8, "
        "round((ST_YMax(geom) - ST_YMin(geom))::numeric, 6)::float8, "
        f"tiles, tiles_at_least_half, probability, probability_mean FROM {table} {where}"
    ).fetchall()
    out = {}
    for cells, west, south, width, height, *values in rows:
        assert width == height == pytest.approx(cells * DEFAULT_GRID.cell_size)
        out[(cells, west, south)] = tuple(values)
    return out


def _same(shown: dict, expected: dict) -> None:
    assert shown.keys() == expected.keys()
    for key, (tiles, half, top, mean) in expected.items():
        assert shown[key][:2] == (tiles, half), key
        assert shown[key][2:] == pytest.approx((top, mean)), key


def test_the_overview_blocks_are_the_promoted_maps_tiles_aggregated(trained, pg):
    first = pg.execute("SELECT asmdb.promoted_map()").fetchone()[0]
    expected = _expected(pg, first)
    _same(_shown(pg), expected)
    # Every tile in one block per level; the coarsest level has the fewest blocks.
    counts = dict(
        pg.execute("SELECT cells, sum(tiles) FROM asmdb.latest_overviews GROUP BY 1").fetchall()
    )
    tiles = pg.execute("SELECT count(*) FROM asmdb.latest_predictions").fetchone()[0]
    assert counts == {level.cells: tiles for level in LEVELS}
    assert max(level.cells for level in LEVELS) > 2

    # A map not promoted has its blocks, not shown; promoted, they are what the view shows.
    other = train_run(
        trained, protocol=Protocol(cv="seed", bootstrap=0, random_state=7), promote=False
    )
    _same(_shown(pg), expected)
    _same(_shown(pg, "asmdb.map_overviews", other.map_id), _expected(pg, other.map_id))
    pg.execute("UPDATE asmdb.maps SET promoted_at = now() WHERE map_id = %s", (other.map_id,))
    _same(_shown(pg), _expected(pg, other.map_id))


def test_each_zoom_below_full_resolution_has_one_block_size():
    sizes = [level_for_zoom(z) for z in range(0, 16)]
    full = [z for z, level in enumerate(sizes) if level is None]
    assert full == list(range(full[0], 16)) and full[0] == 11
    # Coarser blocks at lower zooms, every zoom below full resolution covered.
    cells = [level.cells for level in sizes[: full[0]]]
    assert cells == sorted(cells, reverse=True) and cells[-1] == 2


def test_the_overview_revision_down_and_up_rebuilds_the_blocks(trained, pg):
    before = _shown(pg, "asmdb.map_overviews")
    assert before
    revision = importlib.import_module("asm_db.migrations.versions.0016_map_overviews")
    assert downgrade(trained, revision.down_revision) == revision.down_revision
    assert pg.execute("SELECT to_regclass('asmdb.map_overviews')").fetchone()[0] is None
    assert pg.execute("SELECT count(*) FROM asmdb.latest_predictions").fetchone()[0] > 0
    assert upgrade(trained) == head_revision()
    assert _shown(pg, "asmdb.map_overviews") == before
    _same(_shown(pg), _expected(pg, pg.execute("SELECT asmdb.promoted_map()").fetchone()[0]))
