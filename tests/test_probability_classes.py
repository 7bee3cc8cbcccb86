"""The one definition of the map's probability classes, as styles, SQL and a web map use it."""

from __future__ import annotations

import re
import subprocess
import sys

from asm_db import probability_classes as pc
from asm_db.publish import qml


def test_classes_cover_zero_to_one_with_range_labels():
    assert [c.label for c in pc.CLASSES] == ["0.0-0.2", "0.2-0.4", "0.4-0.6", "0.6-0.8", "0.8-1.0"]
    assert [c.stratum for c in pc.CLASSES][0] == "p0.0-0.2"
    assert pc.CLASSES[0].lower == 0.0 and pc.CLASSES[-1].upper == 1.0
    assert all(a.upper == b.lower for a, b in zip(pc.CLASSES, pc.CLASSES[1:], strict=False))
    assert [pc.class_of(p).number for p in (0.0, 0.19, 0.2, 0.7, 0.8, 1.0)] == [1, 1, 2, 4, 5, 5]


def test_sql_classes_agree_with_python_and_the_fixed_width_buckets(pg):
    probabilities = [i / 1000 for i in range(1001)] + [0.2, 0.4, 0.6, 0.8]
    rows = pg.execute(
        "SELECT p, width_bucket(p, %(class_lower_bounds)s::float8[]), "
        "least(width_bucket(p, 0, 1, 5), 5) FROM unnest(%(p)s::float8[]) AS p",
        {"p": probabilities, **pc.sql_params()},
    ).fetchall()
    assert len(rows) == len(probabilities)
    for p, bound, fixed in rows:
        assert bound == fixed == pc.class_of(p).number, p


def test_qgis_style_and_web_steps_use_the_same_breaks_and_colours():
    document = qml.probability_qml()
    ranges = re.findall(
        r'<range symbol="\d" lower="([\d.]+)" upper="([\d.]+)" label="([^"]+)"', document
    )
    assert [(float(lo), float(hi), label) for lo, hi, label in ranges] == [
        (c.lower, c.upper, c.label) for c in pc.CLASSES
    ]
    for c in pc.CLASSES:
        assert "{},{},{},255".format(*c.rgb) in document
    assert pc.maplibre_step() == [
        "step", ["get", "probability"], "#440154",
        0.2, "#3b528b", 0.4, "#21918c", 0.6, "#5ec962", 0.8, "#fde725",
    ]  # fmt: skip


def test_class_colours_are_matplotlib_viridis():
    # Fixed hex values in the definition, checked against the colour map they come from.
    code = (
        "from matplotlib import colormaps\n"
        "v = colormaps['viridis']\n"
        "print(' '.join('#%02x%02x%02x' % tuple(round(255 * x) for x in v(i / 4)[:3]) "
        "for i in range(5)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == list(pc.COLORS)


def test_the_map_threshold_is_one_constant_that_every_user_reads():
    from types import SimpleNamespace

    import numpy as np
    import typer.main

    from asm_db.change.classes import DEFAULT_THRESHOLD
    from asm_db.cli.app import app
    from asm_db.db.sqlfiles import load_sql
    from asm_db.maps.write import map_counts
    from asm_db.review.options import MAP_THRESHOLD, QueueOptions

    assert MAP_THRESHOLD == DEFAULT_THRESHOLD == QueueOptions().threshold == pc.MAP_THRESHOLD
    command = typer.main.get_command(app)
    for path in (("change",), ("review", "queue"), ("review", "estimate")):
        found = command
        for name in path:
            found = found.commands[name]
        defaults = {p.name: p.default for p in found.params}
        assert defaults["threshold"] == pc.MAP_THRESHOLD, path
    # The map's headline count and its overview blocks count tiles at the threshold and above.
    just_below = np.nextafter(pc.MAP_THRESHOLD, 0)
    tiles = SimpleNamespace(tile_id=np.arange(3), probability=np.array([just_below, 0.5, 1.0]))
    assert map_counts(tiles)["tiles_at_least_half"] == 2
    overviews = load_sql("maps/map_overviews_insert")
    assert "p.probability >= %(map_threshold)s" in overviews and "0.5" not in overviews
    assert pc.mapped_label() == f"at least {pc.MAP_THRESHOLD:g}"


def test_no_sql_file_writes_the_map_threshold_as_a_literal():
    from importlib import resources

    for path in resources.files("asm_db.sql").iterdir():
        if path.name.endswith(".sql"):
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"probability\s*>=?\s*0\.5\b", text), path.name
