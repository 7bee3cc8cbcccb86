"""Run tests/qgis_client.py, the headless QGIS client, in Debian's Python (PyQGIS does not import
in a venv) on a spec, and read back what it saw."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"
CLIENT = Path(__file__).with_name("qgis_client.py")


def run_qgis(spec: dict, tmp: Path, service_file: Path | None = None) -> dict:
    """Run the headless QGIS client on a spec; fails (never skips) when QGIS is missing."""
    spec_path = tmp / f"spec-{uuid.uuid4().hex[:6]}.json"
    spec_path.write_text(json.dumps(spec))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["QT_QPA_PLATFORM"] = "offscreen"
    if service_file is not None:
        env["PGSERVICEFILE"] = str(service_file)
    done = subprocess.run(
        [SYSTEM_PYTHON, str(CLIENT), str(spec_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, f"QGIS client failed: {done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])
