"""What the featurize tests share: the command as they run it, its feature vectors read back, and
the direct computation (one window at a time) that RCF must equal."""

from __future__ import annotations

import json

import numpy as np
import psycopg

from asm_db.grid import Grid
from asm_db.imagery import rcf

from conftest import snapshot
from rasters import NORTH, RES_DEG, WEST

K = 64
# In this process: a local Dask cluster (the default) is tested on its own below.
FEATURIZE = ("featurize", "--workers", "0")


def vectors(pg: psycopg.Connection, name: str) -> dict[int, np.ndarray]:
    rows = pg.execute(
        "SELECT f.tile_id, f.features FROM asmdb.tile_features AS f "
        "JOIN asmdb.feature_sets AS s USING (feature_set_id) WHERE s.name = %s",
        (name,),
    ).fetchall()
    return {r[0]: np.frombuffer(r[1], "<f4") for r in rows}


def filter_bank(cli, name: str) -> rcf.FilterBank:
    shown = cli("feature-sets", "show", name, "--filters")
    assert shown.code == 0, shown.stderr
    return rcf.FilterBank.from_json(json.loads(shown.stdout)["provenance"]["filters"])


def tile_block(data: np.ndarray, tile_id: int, bounds=(WEST, NORTH), res=RES_DEG):
    """The pixels of one tile in an EPSG:4326 array aligned with the grid."""
    w, s, e, n = Grid().bounds(tile_id)
    c0, r0 = round((w - bounds[0]) / res), round((bounds[1] - n) / res)
    size = round(0.01 / res)
    return data[:, r0 : r0 + size, c0 : c0 + size]


def direct_rcf(pixels, valid, weights, bias):
    """The definition, one window and one filter at a time (float64)."""
    bands, height, width = pixels.shape
    half = weights.shape[0]
    kernels = weights.reshape(half, bands, 3, 3).astype(np.float64)
    pos = np.zeros(half)
    neg = np.zeros(half)
    n = 0
    for r in range(height - 2):
        for c in range(width - 2):
            if not valid[r : r + 3, c : c + 3].all():
                continue
            x = pixels[:, r : r + 3, c : c + 3].astype(np.float64)
            n += 1
            for k in range(half):
                z = float((kernels[k] * x).sum()) + bias
                pos[k] += max(z, 0.0)
                neg[k] += max(-z, 0.0)
    if n == 0:
        return None
    return np.concatenate([pos, neg]) / n


def _bad(cli, pg, *args) -> str:
    before = snapshot(pg)
    done = cli(*FEATURIZE, *args)
    assert done.code == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert snapshot(pg) == before
    return lines[0]
