"""bench/run.py runs end to end (tiny scale): the figures in the README come from this script."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ADMIN_URL

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_runs_every_stage_and_writes_its_table(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--scale",
            "0.002",
            "--features",
            "32",
            "--labels",
            "300",
            "--admin-url",
            ADMIN_URL,
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["tiles"] == 12 * 12
    stages = report["stages"]
    for stage in (
        "seed notebook (whole)",
        "raw reference (pyarrow + COPY bytea)",
        "asmdb ingest features",
        "asmdb SQL join",
        "asmdb train (seed protocol)",
    ):
        assert stages[stage]["seconds"] > 0, stage
    assert "failed" not in stages["seed notebook (whole)"]
    assert report["asmdb_train"]["best_alpha"] in (0.01, 0.1, 1.0, 10.0)
    assert report["seed"]["best_alpha"] in (0.01, 0.1, 1.0, 10.0)
    assert all(value is not None for value in report["ratios"].values())
    assert "ingest features / raw reference" in proc.stdout
    assert any("Index Scan" in line or "Seq Scan" in line for line in report["join_plan"])


@pytest.mark.slow
def test_imagery_tile_bench_serves_tiles_and_measures_its_reference(tmp_path):
    """bench/imagery_tiles.py at a tiny scale: the server's figures, the in-process reference and
    their ratios (docs/benchmarks.md quotes a full run)."""
    out = tmp_path / "imagery.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "imagery_tiles.py"),
            "--size",
            "512",
            "--requests",
            "24",
            "--admin-url",
            ADMIN_URL,
            "--workdir",
            str(tmp_path),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["tiles"]["n"] == 24 and report["tiles"]["errors"] == 0
    assert report["tiles"]["mean_kib"] > 0.3  # not only transparent tiles
    assert report["in_process"]["n"] == 24 and report["healthz"]["errors"] == 0
    assert all(value is not None for value in report["ratios"].values())
    assert "ratios:" in proc.stdout
