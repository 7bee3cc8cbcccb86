""" "Find more like this" (`asmdb similar`) on vectors built so the answer is known, checked
against a brute-force cosine of standardised features computed here with numpy."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow  # builds similarity indexes

N_LAT, N_LON, K = 15, 15, 48


@pytest.fixture
def planted(tmp_path):
    """Random vectors, with three tiles made from the query tile plus growing noise."""
    rng = np.random.default_rng(7)
    lats = 8.005 + 0.01 * np.repeat(np.arange(N_LAT), N_LON)
    lons = -11.995 + 0.01 * np.tile(np.arange(N_LON), N_LAT)
    x = rng.normal(size=(N_LAT * N_LON, K)).astype(np.float32) * rng.uniform(0.5, 3, K)
    query, near = 100, {1: 0.1, 150: 0.3, 37: 0.6}  # row -> noise level
    for row, noise in near.items():
        x[row] = x[query] + noise * rng.normal(size=K) * x.std(axis=0)
    frame = pd.DataFrame(x, columns=[f"feature_{i}" for i in range(K)])
    frame.insert(0, "lon", lons)
    frame.insert(0, "lat", lats)
    path = tmp_path / "planted.feather"
    frame.to_feather(path)
    return {"path": path, "x": x, "lats": lats, "lons": lons, "query": query, "near": list(near)}


def brute_force(x: np.ndarray, query_rows: list[int]) -> np.ndarray:
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    best = (z @ z[query_rows].T).max(axis=1)
    best[query_rows] = -np.inf
    return best


def tile_ids(pg, data, rows) -> list[int]:
    return [
        pg.execute(
            "SELECT asmdb.tile_id(%s, %s)", (float(data["lats"][r]), float(data["lons"][r]))
        ).fetchone()[0]
        for r in rows
    ]


def test_similar_finds_the_planted_tiles_best_first(cli, pg, planted, tmp_path, monkeypatch):
    monkeypatch.setenv("ASMDB_CACHE_DIR", str(tmp_path / "cache"))
    assert cli("ingest", "features", str(planted["path"])).code == 0
    all_ids = tile_ids(pg, planted, range(N_LAT * N_LON))
    (query,) = tile_ids(pg, planted, [planted["query"]])
    done = cli("similar", "--tile", str(query), "--top", "20", "--json")
    assert done.code == 0, done.stderr
    found = json.loads(done.stdout)
    assert [r["tile_id"] for r in found[:3]] == tile_ids(pg, planted, planted["near"])
    # The whole answer is the exact one: order and values of a brute-force search.
    best = brute_force(planted["x"], [planted["query"]])
    order = np.argsort(-best, kind="stable")[:20]
    assert [r["tile_id"] for r in found] == [all_ids[i] for i in order]
    assert [r["similarity"] for r in found] == pytest.approx(best[order].tolist(), abs=1e-4)
    assert query not in {r["tile_id"] for r in found}
    # Kept for QGIS: one set of rows per query, best first, with the tiles' polygons.
    rows = pg.execute(
        "SELECT s.query_id, s.rank, s.tile_id, s.similarity, q.query_tiles, q.source, "
        "ST_Equals(s.geom, t.geom) FROM asmdb.similar_tiles s "
        "JOIN asmdb.similarity_queries q USING (query_id) JOIN asmdb.tiles t USING (tile_id) "
        "ORDER BY s.rank"
    ).fetchall()
    assert [r[2] for r in rows] == [r["tile_id"] for r in found]
    assert [r[1] for r in rows] == list(range(1, 21))
    assert all(r[4] == [query] and r[5] == "tiles" and r[6] for r in rows)


def test_several_queries_take_the_best_similarity_to_any(cli, pg, planted, tmp_path, monkeypatch):
    monkeypatch.setenv("ASMDB_CACHE_DIR", str(tmp_path / "cache"))
    assert cli("ingest", "features", str(planted["path"])).code == 0
    all_ids = tile_ids(pg, planted, range(N_LAT * N_LON))
    queries = [planted["query"], 200, 13]
    done = cli(
        "similar",
        *[a for q in tile_ids(pg, planted, queries) for a in ("--tile", str(q))],
        "--top",
        "50",
        "--json",
        "--no-store",
    )
    assert done.code == 0, done.stderr
    found = json.loads(done.stdout)
    best = brute_force(planted["x"], queries)
    order = np.argsort(-best, kind="stable")[:50]
    assert [r["tile_id"] for r in found] == [all_ids[i] for i in order]
    assert pg.execute("SELECT count(*) FROM asmdb.similar_tiles").fetchone() == (0,)


def test_confirmed_mines_are_the_queries(cli, pg, planted, tmp_path, monkeypatch):
    monkeypatch.setenv("ASMDB_CACHE_DIR", str(tmp_path / "cache"))
    assert cli("ingest", "features", str(planted["path"])).code == 0
    labels = tmp_path / "labels.csv"
    q = planted["query"]
    pd.DataFrame(
        {
            "lon": [planted["lons"][q], planted["lons"][5]],
            "lat": [planted["lats"][q], planted["lats"][5]],
            "unique_id": ["m1", "n1"],
            "country": "SLE",
            "sample_type": "field",
            "mine_type": ["artisanal", None],
            "confidence": 5,
            "label": [1, 0],
            "proportion_inspected": 1.0,
        }
    ).to_csv(labels, index=False)
    assert cli("ingest", "labels", str(labels)).code == 0
    by_tile = cli("similar", "--tile", str(tile_ids(pg, planted, [q])[0]), "--json", "--no-store")
    confirmed = cli("similar", "--confirmed", "--json")
    assert confirmed.code == 0, confirmed.stderr
    assert json.loads(confirmed.stdout) == json.loads(by_tile.stdout)
    assert pg.execute("SELECT source FROM asmdb.similarity_queries").fetchall() == [("confirmed",)]


def test_unknown_tile_is_one_line_and_stores_nothing(cli, pg, planted, tmp_path, monkeypatch):
    monkeypatch.setenv("ASMDB_CACHE_DIR", str(tmp_path / "cache"))
    assert cli("ingest", "features", str(planted["path"])).code == 0
    # An id beyond a tile id's type (bigint) is as unknown as any other.
    for tile in ("12345", str(2**63), "99999999999999999999"):
        done = cli("similar", "--tile", tile)
        assert done.code == 1 and "Traceback" not in done.stderr
        assert done.stderr.strip().splitlines()[-1] == (
            f"error: tile {tile} has no vector in feature set 'default'"
        )
    assert cli("similar").code == 1  # neither --tile nor --confirmed
    assert pg.execute("SELECT count(*) FROM asmdb.similarity_queries").fetchone() == (0,)
