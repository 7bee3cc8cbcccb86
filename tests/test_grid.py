"""The tile grid: one formula for tile ids in Python and SQL, grids as records, and a feature
set's vectors only on tiles of its grid."""

import math

import numpy as np
import psycopg
import pytest

from asm_db.errors import AsmdbError
from asm_db.grid import GRID_ID_SHIFT, Grid, check_cell_size, grid_for_cell_size, load_grid


def _points(rng: np.random.Generator, grid: Grid, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Random points anywhere, the globe's edges, cell centres as MOSAIKS writes them (to a
    thousandth), and points a hair off cell edges, where rounding decides the cell."""
    lat = [rng.uniform(-90, 90, n), [-90.0, 90.0, 0.0, -90.0, 90.0]]
    lon = [rng.uniform(-180, 180, n), [-180.0, 180.0, 0.0, 180.0, -180.0]]
    ids = rng.integers(0, grid.n_cells, n) + grid.id_offset
    c_lat, c_lon = grid.centres(ids)
    lat += [np.round(c_lat, 3), c_lat]
    lon += [np.round(c_lon, 3), c_lon]
    edge_lat = grid.origin_lat + rng.integers(1, grid.n_rows - 1, n) * grid.cell_size
    edge_lon = grid.origin_lon + rng.integers(1, grid.n_cols - 1, n) * grid.cell_size
    for eps in (0.0, 1e-9, -1e-9, grid.cell_size / 20, -grid.cell_size / 20):
        lat.append(np.clip(edge_lat + eps, -90, 90))
        lon.append(np.clip(edge_lon + eps, -180, 180))
    return np.concatenate(lat), np.concatenate(lon)


def _sql_ids(pg, grid: Grid, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    rows = pg.execute(
        "SELECT asmdb.grid_tile_id(%s, %s, %s, %s, p.lat, p.lon) "
        "FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS p(lat, lon, i) ORDER BY i",
        (
            grid.grid_id,
            grid.cell_size,
            grid.origin_lon,
            grid.origin_lat,
            lat.tolist(),
            lon.tolist(),
        ),
    ).fetchall()
    return np.array([r[0] for r in rows], dtype=np.int64)


@pytest.mark.parametrize(
    "grid",
    [Grid(), Grid(2, 0.02), Grid(5, 0.005), Grid(3, 0.007), Grid(9, 0.25)],
    ids=lambda g: f"grid{g.grid_id}-{g.cell_size:g}",
)
def test_python_and_sql_give_the_same_tile_ids(pg, grid):
    lat, lon = _points(np.random.default_rng(grid.grid_id), grid, 4000)
    python = grid.tile_ids(lat, lon)
    assert np.array_equal(_sql_ids(pg, grid, lat, lon), python)
    assert (python >= grid.id_offset).all() and (python < grid.id_offset + GRID_ID_SHIFT).all()
    # A cell's centre is in that cell, and every cell has its own id.
    ids = np.unique(python)
    assert np.array_equal(grid.tile_ids(*grid.centres(ids)), ids)
    if grid.grid_id == 1:
        # Grid 1 is asmdb's grid from before grids were records: the same ids as
        # asmdb.tile_id and as revision 0001's formula.
        old = pg.execute(
            "SELECT array_agg(asmdb.tile_id(p.lat, p.lon) ORDER BY i), "
            "array_agg((round((p.lat + 90) * 1000)::bigint / 10) * 36001 "
            "          + round((p.lon + 180) * 1000)::bigint / 10 ORDER BY i) "
            "FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS p(lat, lon, i)",
            (lat.tolist(), lon.tolist()),
        ).fetchone()
        assert np.array_equal(np.array(old[0]), python)
        assert np.array_equal(np.array(old[1]), python)


def test_bounds_and_cells_in_a_box_agree_with_the_ids():
    grid = Grid(2, 0.02)
    ids = grid.cells_in_bbox(-11.2, 8.4, -11.1, 8.5)
    assert len(ids) == 5 * 5 and len(set(ids.tolist())) == 25
    west, south, east, north = grid.bounds(int(ids[0]))
    assert (west, south) == pytest.approx((-11.2, 8.4)) and east - west == pytest.approx(0.02)
    assert north - south == pytest.approx(0.02)


@pytest.mark.parametrize("size", [0, -1, -0.01, math.nan, math.inf, -math.inf, 1e-6, 11, "x"])
def test_a_cell_size_that_cannot_be_a_grid_is_refused(size):
    with pytest.raises(AsmdbError, match="tile size"):
        check_cell_size(size)


def test_grids_are_records_found_or_made_once(pg):
    assert load_grid(pg, 1) == Grid()
    with pg.transaction():
        second = grid_for_cell_size(pg, 0.02)
        again = grid_for_cell_size(pg, 0.02)
        first = grid_for_cell_size(pg, 0.01)
    assert second == again == Grid(2, 0.02) and first == Grid()
    assert pg.execute("SELECT count(*) FROM asmdb.grids").fetchone()[0] == 2
    # The table refuses what check_cell_size refuses, for writers other than asmdb's.
    for size in ("NaN", "Infinity", "0", "-0.01", "1e-7"):
        with pytest.raises(psycopg.errors.CheckViolation):
            pg.execute(
                "INSERT INTO asmdb.grids (cell_size, origin_lon, origin_lat) "
                "VALUES (%s::float8, -180, -90)",
                (size,),
            )


def test_a_feature_set_holds_vectors_only_on_tiles_of_its_grid(engine, pg):
    from asm_db.ingest.tiles import ensure_tiles

    with pg.transaction():
        grid2 = grid_for_cell_size(pg, 0.02)
        ids = {g.grid_id: g.tile_ids([8.41], [-11.19]) for g in (Grid(), grid2)}
        assert ensure_tiles(pg, Grid(), ids[1]) == 1
        assert ensure_tiles(pg, grid2, ids[2]) == 1
        assert ensure_tiles(pg, grid2, ids[2]) == 0
    tiles = pg.execute(
        "SELECT tile_id, grid_id, ST_XMax(geom) - ST_XMin(geom) FROM asmdb.tiles ORDER BY 1"
    ).fetchall()
    assert [(t, g) for t, g, _ in tiles] == [(int(ids[1][0]), 1), (int(ids[2][0]), 2)]
    assert [w for _, _, w in tiles] == pytest.approx([0.01, 0.02])
    fs = pg.execute(
        "INSERT INTO asmdb.feature_sets (name, n_features, feature_names, tile_half_size, "
        "grid_id) VALUES ('a', 1, '{f}', 0.005, 1) RETURNING feature_set_id"
    ).fetchone()[0]
    insert = (
        "INSERT INTO asmdb.tile_features (feature_set_id, tile_id, features) VALUES (%s, %s, %s)"
    )
    pg.execute(insert, (fs, int(ids[1][0]), np.float32([1]).tobytes()))
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="feature_set_grid"):
        pg.execute(insert, (fs, int(ids[2][0]), np.float32([1]).tobytes()))
