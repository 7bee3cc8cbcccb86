"""Importing asmdb leaves matplotlib alone: only the plotting modules load it, and they do not
change its backend."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CHECK = """
import importlib, json, pkgutil, sys
import asm_db
skipped = {"asm_db.publish.plots", "asm_db.publish.report", "asm_db.runs.plots"}
names = sorted(
    m.name
    for m in pkgutil.walk_packages(asm_db.__path__, "asm_db.")
    if m.name not in skipped and not m.name.startswith("asm_db.migrations.")
)
for name in names:
    importlib.import_module(name)
print(json.dumps({"imported": names, "matplotlib": sorted(
    m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")
)}))
"""


def _run(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow
def test_importing_asmdb_does_not_import_matplotlib():
    seen = _run(CHECK)
    assert {"asm_db.publish.qml", "asm_db.publish.styles", "asm_db.publish.project"} <= set(
        seen["imported"]
    )
    assert {"asm_db.publish.export", "asm_db.review.queue", "asm_db.cli.app"} <= set(
        seen["imported"]
    )
    assert seen["matplotlib"] == []


@pytest.mark.slow
def test_plots_keep_the_backend_a_program_chose():
    code = (
        "import json, matplotlib\n"
        "matplotlib.use('svg')\n"
        "import asm_db.publish.plots, asm_db.publish.report, asm_db.runs.plots\n"
        "import sys\n"
        "print(json.dumps({'backend': matplotlib.get_backend(), "
        "'pyplot': 'matplotlib.pyplot' in sys.modules}))"
    )
    seen = _run(code)
    assert seen == {"backend": "svg", "pyplot": False}


def test_importing_the_command_line_does_not_import_scikit_learn():
    code = (
        "import json, sys\n"
        "import asm_db.cli.app\n"
        "print(json.dumps({'heavy': sorted(m for m in ('sklearn', 'matplotlib', 'scipy') "
        "if m in sys.modules)}))"
    )
    assert _run(code) == {"heavy": []}
