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
