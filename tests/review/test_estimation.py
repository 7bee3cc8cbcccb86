"""The review sample's design and estimator as pure functions (asm_db.review.estimation), with
no database: Olofsson et al. 2014's worked example with its published numbers, the interval
rule, the draw and its extension, planning, and reviews reused under other strata."""

from __future__ import annotations

import numpy as np
import pytest

from asm_db.review import estimation

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
    assert (
        got["high"] - got["low"]
        < estimation.wilson(0.0235, 640)[1] - estimation.wilson(0.0235, 640)[0]
    )
    # At 0 or 1 (or no variance) it falls back on the tiles reviewed, inside [0, 1].
    assert estimation.interval(0.0, 0.0, 30)["high"] == pytest.approx(estimation.wilson(0.0, 30)[1])
    assert estimation.interval(1.0, 0.0, 30)["low"] < 1
    assert estimation.interval(None, None, 30)["low"] is None
    # Every stratum reviewed whole: exact, no width.
    exact = estimation.interval(0.3, 0.0, 30, exact=True, scale=10)
    assert exact["low"] == exact["high"] == pytest.approx(3.0)


def test_reviews_of_another_maps_strata_estimate_the_new_maps_area_and_accuracy_by_hand():
    """Stehman 2014: the sample's strata (A, B, the old map's) differ from the new map's
    classes (x, y). A: 100 tiles, 4 reviewed; B: 300 tiles, 4 reviewed."""
    strata = [
        {"name": "A", "tiles": 100, "area_km2": 100.0, "classes": None,
         "mapped": ["x", "x", "y", "y"], "reference": ["x", "x", "x", "y"]},
        {"name": "B", "tiles": 300, "area_km2": 300.0, "classes": None,
         "mapped": ["y", "y", "y", "x"], "reference": ["y", "y", "x", "y"]},
    ]  # fmt: skip
    e = estimation.estimate(strata, ("x", "y"), _first)
    # area of x: 0.25 * 3/4 + 0.75 * 1/4 = 0.375 of 400 km2
    assert e["classes"]["x"]["area_km2"]["value"] == pytest.approx(150.0)
    # user's accuracy of x: (0.25 * 2/4 + 0.75 * 0) / (0.25 * 2/4 + 0.75 * 1/4) = 0.4
    assert e["classes"]["x"]["users_accuracy"]["value"] == pytest.approx(0.4)
    # producer's accuracy of x: 0.125 / 0.375
    assert e["classes"]["x"]["producers_accuracy"]["value"] == pytest.approx(1 / 3)
    # overall: 0.25 * 3/4 + 0.75 * 2/4
    assert e["overall_accuracy"]["value"] == pytest.approx(0.5625)
    # The strata are not the map classes: the user's accuracy is uncertain in both.
    assert e["classes"]["x"]["users_accuracy"]["se"] > 0


def test_an_extended_sample_is_a_simple_random_sample_of_the_larger_size_in_each_stratum():
    members = {"a": np.arange(10), "b": np.arange(10, 30)}
    new, inclusion = estimation.extend(
        members, {"a": [0, 1, 2], "b": [10, 11]}, {"a": 2, "b": 3}, np.random.default_rng(1)
    )
    assert sum(1 for _, h in new if h == "a") == 2 and sum(1 for _, h in new if h == "b") == 3
    assert not {i for i, _ in new} & {0, 1, 2, 10, 11}
    assert inclusion == {"a": 5 / 10, "b": 5 / 20}
    # Drawn 3 then 2 more, every tile of a is in the union with probability 5/10.
    counts = np.zeros(10)
    for seed in range(4000):
        rng = np.random.default_rng(seed)
        first = [i for i, _, _ in estimation.draw({"a": members["a"]}, {"a": 3}, rng)]
        more, _ = estimation.extend({"a": members["a"]}, {"a": first}, {"a": 2}, rng)
        counts[first + [i for i, _ in more]] += 1
    assert counts / 4000 == pytest.approx(np.full(10, 0.5), abs=0.04)


def test_the_plan_takes_cochrans_total_and_reaches_the_target_standard_error():
    sizes, weights = {"new": 100, "absent": 900}, {"new": 0.1, "absent": 0.9}
    share = {"new": 0.8, "absent": 0.01}  # user's accuracy of new 0.8; 1% of absent is new
    take, cochran, se = estimation.plan(sizes, weights, share, 0.01, 50)
    # (0.1 * 0.4 + 0.9 * sqrt(0.0099))^2 / (0.01^2 + (0.1 * 0.16 + 0.9 * 0.0099) / 1000)
    assert cochran == 135
    assert take["new"] >= 50 and se <= 0.01
    by_hand = (0.1**2 * (1 - take["new"] / 100) * 0.16 / take["new"]) + (
        0.9**2 * (1 - take["absent"] / 900) * 0.0099 / take["absent"]
    )
    assert se == pytest.approx(by_hand**0.5)
    assert sum(take.values()) >= cochran


def test_an_extension_fills_the_plans_shortfall_first_then_where_the_variance_is():
    room = {"new": 5, "gone": 100, "absent": 900}
    # Less than the shortfall (new's capped at its room, 5): shared in proportion to it.
    assert estimation.extension_sizes(10, room, {"new": 20, "gone": 10}, {}) == {
        "new": 3,
        "gone": 7,
        "absent": 0,
    }
    # More: the shortfall whole, the rest by each stratum's part of the variance.
    take = estimation.extension_sizes(30, room, {"gone": 10}, {"gone": 1.0, "absent": 3.0})
    assert take == {"new": 0, "gone": 15, "absent": 15}
    assert estimation.extension_sizes(2000, room, None, {"absent": 1.0}) == room
