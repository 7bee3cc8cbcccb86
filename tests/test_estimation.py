"""The review sample's design and estimator as pure functions (asm_db.review.estimation), with
no database: Olofsson et al. 2014's worked example with its published numbers, the interval
rule, the draw and its extension, planning, and reviews reused under other strata."""

from __future__ import annotations

import math

import numpy as np
import pytest

from asm_db.review import estimation
from asm_db.review.change_area import change_estimates

# Olofsson et al. 2014 (Remote Sensing of Environment 148: 42-57), section 5, Table 8: sample
# counts, rows the map classes (the strata), columns the reference classes.
PAPER_MATRIX = [[66, 0, 5, 4], [0, 55, 8, 12], [1, 0, 153, 11], [2, 1, 9, 313]]
PAPER_PIXELS = [200_000, 150_000, 3_200_000, 6_450_000]
PAPER_CLASSES = ("1", "2", "3", "4")


def _paper_strata() -> list[dict]:
    strata = []
    for h, (row, pixels) in enumerate(zip(PAPER_MATRIX, PAPER_PIXELS, strict=True)):
        reference = [k for k, count in zip(PAPER_CLASSES, row, strict=True) for _ in range(count)]
        strata.append(
            {
                "name": PAPER_CLASSES[h],
                "tiles": pixels,
                "area_km2": float(pixels),
                "mapped": [PAPER_CLASSES[h]] * len(reference),
                "reference": reference,
            }
        )
    return strata


def _first(i: int, strata: list[dict]) -> int:
    return 0 if i else 1


def test_olofsson_2014_worked_example_gives_the_published_area_its_se_and_a_matching_interval():
    e = estimation.estimate(_paper_strata(), PAPER_CLASSES, _first)
    total = sum(PAPER_PIXELS)
    area = e["classes"]["1"]["area_km2"]
    assert area["value"] / total == pytest.approx(0.0235, abs=5e-5)
    assert area["se"] / total == pytest.approx(0.00349, abs=1e-5)
    half = (area["high"] - area["low"]) / 2
    assert half == pytest.approx(1.959964 * area["se"], rel=0.10)
    # As wide as the paper's 0.0235 +- 0.0068 (Wilson's leans toward the side a rare class is
    # uncertain on): the sample is worth more than a simple random sample of its 640 tiles.
    assert (area["high"] - area["low"]) / total == pytest.approx(2 * 0.0068, rel=0.10)
    assert area["low"] / total > 0.0160 and area["high"] / total < 0.0320
    # User's, producer's and overall accuracy of Table 9.
    assert e["classes"]["1"]["users_accuracy"]["value"] == pytest.approx(0.88, abs=5e-3)
    assert e["classes"]["1"]["producers_accuracy"]["value"] == pytest.approx(0.75, abs=5e-3)
    assert e["overall_accuracy"]["value"] == pytest.approx(0.947, abs=1e-3)


def test_the_interval_is_wilson_on_the_effective_sample_size_not_capped_at_the_reviews():
    # p = 0.0235, se = 0.00349 from 640 tiles: an effective 1,884 tiles, not 640.
    got = estimation.interval(0.0235, 0.00349, 640)
    n_eff = 0.0235 * 0.9765 / 0.00349**2
    assert (got["low"], got["high"]) == pytest.approx(estimation.wilson(0.0235, n_eff))
    assert got["high"] - got["low"] < estimation.wilson(0.0235, 640)[1] - estimation.wilson(
        0.0235, 640
    )[0]
    # At 0 or 1 (or no variance) it falls back on the tiles reviewed, inside [0, 1].
    assert estimation.interval(0.0, 0.0, 30)["high"] == pytest.approx(
        estimation.wilson(0.0, 30)[1]
    )
    assert estimation.interval(1.0, 0.0, 30)["low"] < 1
    assert estimation.interval(None, None, 30)["low"] is None
    # Every stratum reviewed whole: exact, no width.
    exact = estimation.interval(0.3, 0.0, 30, exact=True, scale=10)
    assert exact["low"] == exact["high"] == pytest.approx(3.0)
