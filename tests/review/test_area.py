"""The review loop on sample data: queue, a simulated review that answers from the sample's
known truth, import, labels, retrain, and an area estimate whose interval holds the truth."""

import csv
import html
import json
import math

import numpy as np
import pandas as pd
import pytest

from asm_db.errors import AsmdbError
from asm_db.review.area import stratified_estimates


@pytest.mark.slow
def test_the_whole_loop(cli, pg, trained, sample, tmp_path):
    # `trained`: the sample ingested and run 1 of `asmdb train --cv seed --bootstrap 0`.
    # The sample is dense (600 labels on 576 tiles): "no label nearby" means none in the tile.
    options = ("--per-stratum", "30", "--hotspots", "10", "--uncertain", "10")
    options += ("--min-label-distance", "0")
    queued = cli("review", "queue", *options)
    assert queued.code == 0, queued.stderr
    rows = pg.execute(
        "SELECT reason, count(*), count(DISTINCT stratum) FROM asmdb.review_queue GROUP BY 1 ORDER BY 1"
    ).fetchall()
    reasons = {r[0]: r for r in rows}
    assert reasons["hotspot"][1] == 10 and reasons["uncertain"][1] == 10
    # Hotspots have no label nearby and are spread out.
    assert pg.execute(
        "SELECT count(*) FROM asmdb.review_queue q JOIN asmdb.labels l "
        "ON ST_Intersects(l.geom, q.geom) WHERE q.reason = 'hotspot'"
    ).fetchone() == (0,)
    again = cli("review", "queue", *options)
    assert "0 new rows" in again.stdout  # idempotent

    # Review offline from the truth: export, answer, import.
    gpkg = tmp_path / "review.gpkg"
    assert cli("review", "export", str(gpkg)).code == 0
    truth = dict(pd.read_csv(sample.truth).itertuples(index=False, name=None))
    queue = pg.execute(
        "SELECT q.review_id, t.image_id FROM asmdb.review_queue q JOIN asmdb.tiles t USING (tile_id)"
    ).fetchall()
    answers = tmp_path / "answers.csv"
    with answers.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["review_id", "status", "reviewer", "notes"])
        for review_id, image_id in queue:
            out.writerow([review_id, "confirmed" if truth[image_id] else "rejected", "ana", ""])
    imported = cli("review", "import", str(answers))
    assert imported.code == 0, imported.stderr
    reviewed_tiles = len({image_id for _, image_id in queue})
    review_labels = pg.execute(
        "SELECT count(*) FROM asmdb.labels WHERE sample_type = 'review'"
    ).fetchone()[0]
    contradictions = imported.stdout.count("contradiction:")
    assert review_labels + contradictions == reviewed_tiles
    assert cli("review", "import", str(answers)).code == 0  # idempotent
    assert (
        pg.execute("SELECT count(*) FROM asmdb.labels WHERE sample_type = 'review'").fetchone()[0]
        == review_labels
    )

    # Retrain: the new run sees the reviewed labels.
    retrained = cli("train", "--cv", "seed", "--bootstrap", "0", "--json")
    assert retrained.code == 0
    import json

    counts = json.loads(retrained.stdout)["counts"]
    assert counts["labels"] == sample.n_labels + review_labels

    # The stratified estimate of run 1 holds the true area.
    estimate = cli("review", "estimate", "--run", "1", "--json")
    assert estimate.code == 0, estimate.stderr
    e = json.loads(estimate.stdout)
    tile_area = e["total_area_km2"] / sample.n_tiles
    true_area = sum(truth.values()) * tile_area
    assert e["asm_area_km2"]["low"] <= true_area <= e["asm_area_km2"]["high"], (e, true_area)
    assert 0 <= e["users_accuracy"]["value"] <= 1
    # Beside it, the model-assisted estimate (the calibrated probability as auxiliary).
    assisted = e["asm_area_km2_model_assisted"]
    assert 0 <= assisted["low"] <= assisted["value"] <= assisted["high"] <= e["total_area_km2"]
    assert e["se_ratio"] == pytest.approx(assisted["se"] / e["asm_area_km2"]["se"])
    text = cli("review", "estimate", "--run", "1")
    assert "ASM area, model-assisted:" in text.stdout
    stored = pg.execute("SELECT area_estimate FROM asmdb.model_runs WHERE run_id = 1").fetchone()[0]
    assert stored["asm_area_km2"] == e["asm_area_km2"]
    report = tmp_path / "run-1.html"
    assert cli("report", "1", str(report)).code == 0
    page = report.read_text()
    assert "Area and accuracy from reviews" in page and "user's accuracy" in html.unescape(page)


def test_bad_review_file_is_one_line_and_changes_nothing(cli, pg, trained, tmp_path):
    assert cli("review", "queue").code == 0
    path = tmp_path / "bad.csv"
    path.write_text("review_id,status\n1,confirmed\n2,maybe\n")
    result = cli("review", "import", str(path))
    assert result.code == 1
    assert result.stderr.strip().startswith(f"error: {path} (row 2, column 'status')")
    assert pg.execute(
        "SELECT count(*) FROM asmdb.review_queue WHERE status <> 'pending'"
    ).fetchone() == (0,)


def test_estimator_matches_a_hand_computed_case():
    # Two strata, equal area; all of stratum A is ASM, none of B: share 0.5, no error.
    strata = [
        {
            "name": "A",
            "tiles": 100,
            "area_km2": 1.0,
            "probability": [0.9] * 5,
            "reference": [1] * 5,
        },
        {
            "name": "B",
            "tiles": 100,
            "area_km2": 1.0,
            "probability": [0.1] * 5,
            "reference": [0] * 5,
        },
    ]
    e = stratified_estimates(strata, 0.5)
    # A sample of all (or of none) is not proof of all: it counts as half a tile the other way.
    p = 0.5 / 6
    floor = 5 / 4 * p * (1 - p)
    assert e["asm_share"]["value"] == pytest.approx(0.5)
    assert e["asm_share"]["se"] == pytest.approx(np.sqrt(2 * 0.25 * (1 - 5 / 100) * floor / 5))
    assert e["users_accuracy"]["value"] == 1 and e["producers_accuracy"]["value"] == 1
    # Half of A is ASM: p_A = 0.5, var = W^2 (1 - n/N) s^2 / n.
    strata[0]["reference"] = [1, 0, 1, 0, 1, 0]
    strata[0]["probability"] = [0.9] * 6
    e = stratified_estimates(strata, 0.5)
    s2 = np.var([1, 0, 1, 0, 1, 0], ddof=1)
    var = 0.25 * (1 - 6 / 100) * s2 / 6 + 0.25 * (1 - 5 / 100) * floor / 5
    assert e["asm_share"]["se"] == pytest.approx(np.sqrt(var))


def _stratum(name, tiles, probability, reference):
    return {
        "name": name,
        "tiles": tiles,
        "area_km2": float(tiles),
        "probability": probability,
        "reference": reference,
    }


def test_a_stratum_with_one_review_is_collapsed_into_its_neighbour_and_said_so():
    strata = [
        _stratum("0.0-0.2", 500, [0.1] * 6, [0, 0, 0, 0, 0, 1]),
        _stratum("0.2-0.4", 100, [0.3], [0]),  # one review: no variance of its own
        _stratum("0.8-1.0", 20, [0.9] * 5, [1, 1, 1, 0, 1]),
    ]
    e = stratified_estimates(strata, 0.5)
    assert e["collapsed"] == [
        "stratum 0.2-0.4 had 1 reviewed sample tile(s): collapsed with 0.8-1.0 to estimate "
        "the variance"
    ]
    assert e["reviewed"] == 12
    text = json.dumps(e, allow_nan=False)  # never NaN
    assert "NaN" not in text
    # Every reviewed nothing: refused, saying how many more.
    with pytest.raises(AsmdbError, match="review at least 1 more"):
        stratified_estimates([_stratum("0.0-0.2", 500, [0.1], [0])], 0.5)


def test_a_collapsed_stratum_keeps_its_own_mean_and_weight_in_the_estimate():
    """Collapsing is for the variance: the estimate weights each stratum's own mean by its own
    area. Pooled, the large class's one review would count for a sixth of 95% of the area."""
    strata = [
        _stratum("0.0-0.2", 50, [0.1] * 5, [0, 0, 0, 0, 0]),
        _stratum("0.2-0.4", 950, [0.3], [1]),  # one review, most of the area
    ]
    e = stratified_estimates(strata, 0.5)
    assert e["asm_share"]["value"] == pytest.approx(0.95)  # 0.05 * 0 + 0.95 * 1
    assert e["collapsed"] and 0 <= e["asm_share"]["low"] < 0.95 < e["asm_share"]["high"] <= 1
    # Each stratum's own weight, sample size and finite population correction, with the
    # sample variance of its collapsed group: [0, 0, 0, 0, 0, 1], 1/6.
    pooled = 1 / 6
    se = math.sqrt(0.05**2 * (1 - 5 / 50) * pooled / 5 + 0.95**2 * (1 - 1 / 950) * pooled / 1)
    assert e["asm_share"]["se"] == pytest.approx(se)
    # A stratum with no review at all has no mean of its own: merged for the estimate too.
    strata.append(_stratum("0.8-1.0", 1000, [], []))
    e = stratified_estimates(strata, 0.5)
    assert e["collapsed"][0] == (
        "stratum 0.8-1.0 had 0 reviewed sample tile(s): collapsed with 0.2-0.4"
    )
    assert e["asm_share"]["value"] == pytest.approx((950 + 1000) / 2000)


def test_proportion_intervals_stay_inside_zero_and_one():
    # Few reviews, accuracies near 1 and 0: a symmetric interval would pass 1 or 0.
    strata = [
        _stratum("low", 1000, [0.1] * 4, [0, 0, 0, 1]),
        _stratum("high", 50, [0.9] * 3, [1, 1, 0]),
    ]
    e = stratified_estimates(strata, 0.5)
    for key in ("asm_share", "users_accuracy", "producers_accuracy", "overall_accuracy"):
        entry = e[key]
        assert 0 <= entry["low"] <= entry["value"] <= entry["high"] <= 1, (key, entry)
    assert 0 <= e["asm_area_km2"]["low"] <= e["asm_area_km2"]["high"] <= e["total_area_km2"]
    # All confirmed where mapped: user's accuracy 1 with a Wilson interval below 1, not [1, 1].
    strata[1]["reference"] = [1, 1, 1]
    e = stratified_estimates(strata, 0.5)
    assert e["users_accuracy"]["value"] == 1 and e["users_accuracy"]["low"] < 1
    # Nothing mapped as ASM: no user's accuracy (null), not NaN.
    strata[1]["probability"] = [0.4] * 3
    e = stratified_estimates(strata, 0.5)
    assert e["users_accuracy"]["value"] is None
    json.dumps(e, allow_nan=False)


def _queue(pg) -> list[tuple]:
    return pg.execute(
        "SELECT review_id, tile_id, reason, probability, status FROM asmdb.review_queue "
        "ORDER BY review_id"
    ).fetchall()


def test_a_run_queues_a_tile_once_and_hotspots_reach_the_threshold(cli, pg, trained):
    # Many of each kind on 576 tiles: hotspots, uncertain and sample tiles would overlap.
    options = ("--hotspots", "40", "--uncertain", "40", "--per-stratum", "40")
    options += ("--min-label-distance", "0", "--spacing", "0")
    queued = cli("review", "queue", *options)
    assert queued.code == 0, queued.stderr
    rows = _queue(pg)
    tiles = [r[1] for r in rows]
    assert len(tiles) == len(set(tiles))
    reasons = {r[2] for r in rows}
    assert reasons == {"hotspot", "uncertain", "stratified sample"}
    hot = [r[3] for r in rows if r[2] == "hotspot"]
    assert hot and min(hot) >= 0.5
    # A higher --threshold is the hotspots' floor too.
    assert cli("review", "queue", "--threshold", "0.8", "--per-stratum", "0").code == 0
    hot = [r[3] for r in _queue(pg) if r[2] == "hotspot" and r[0] > rows[-1][0]]
    assert all(p >= 0.8 for p in hot)
    again = cli("review", "queue", *options)
    assert again.code == 0 and "0 new rows" in again.stdout
    tiles = [r[1] for r in _queue(pg)]
    assert len(tiles) == len(set(tiles))


def test_zero_hotspots_say_why(cli, pg, trained):
    # A map whose most likely tile is 0.4: no hotspot, and the map's highest said.
    pg.execute("UPDATE asmdb.predictions SET probability = probability * 0.4")
    top = pg.execute("SELECT max(probability) FROM asmdb.predictions").fetchone()[0]
    result = cli("review", "queue", "--per-stratum", "0", "--uncertain", "0")
    assert result.code == 0, result.stderr
    assert "0 hotspots" in result.stdout
    assert f"note: no hotspots: no tile at or above 0.5 (the map's highest is {top:.2f})" in (
        result.stdout
    )
    pg.execute("UPDATE asmdb.predictions SET probability = probability / 0.4")
    # Every tile at or above 0.5 near a label: said in those words.
    result = cli("review", "queue", "--min-label-distance", "50", "--per-stratum", "0")
    assert result.code == 0, result.stderr
    assert (
        "note: no hotspots: no unlabelled tile at or above 0.5 farther than 50 degrees from a "
        "label" in result.stdout
    )
    assert _queue(pg) == []


def test_a_queued_hotspot_drawn_in_the_sample_becomes_a_sample_row(cli, pg, trained):
    first = cli("review", "queue", "--per-stratum", "0", "--min-label-distance", "0")
    assert first.code == 0, first.stderr
    hotspots = {r[1]: r[0] for r in _queue(pg)}
    assert hotspots
    reviewed = next(iter(hotspots.values()))
    pg.execute(
        "UPDATE asmdb.review_queue SET status = 'confirmed' WHERE review_id = %s", (reviewed,)
    )
    # A sample as large as the map: it draws every tile, the hotspots among them.
    second = cli(
        "review", "queue", "--per-stratum", "100000", "--hotspots", "5", "--min-label-distance", "0"
    )
    assert second.code == 0, second.stderr
    rows = _queue(pg)
    n_tiles = pg.execute("SELECT count(*) FROM asmdb.predictions").fetchone()[0]
    assert len(rows) == n_tiles == len({r[1] for r in rows})
    assert {r[2] for r in rows} == {"stratified sample"}
    assert f"note: {len(hotspots)} tile(s) queued earlier as hotspot" in second.stdout
    assert "note: no hotspots: every unlabelled tile" in second.stdout
    # The hotspot rows kept their ids and reviews; their inclusion probability is the sample's.
    kept = {r[0]: r[4] for r in rows if r[1] in hotspots}
    assert set(kept) == set(hotspots.values()) and kept[reviewed] == "confirmed"
    assert pg.execute(
        "SELECT count(*) FROM asmdb.review_queue WHERE inclusion_probability IS DISTINCT FROM 1"
    ).fetchone() == (0,)


def test_a_maps_sample_plan_is_drawn_by_queue_plan(cli, pg, trained):
    from asm_db.probability_classes import CLASSES
    from asm_db.review import estimation

    rows = pg.execute(
        "SELECT width_bucket(probability, ARRAY[0, 0.2, 0.4, 0.6, 0.8]::float8[]), count(*), "
        "sum(ST_Area(geom::geography)), "
        "sum(ST_Area(geom::geography) * probability) / sum(ST_Area(geom::geography)) "
        "FROM asmdb.predictions GROUP BY 1"
    ).fetchall()
    area = sum(r[2] for r in rows) / 1e6
    name = {c.number: c.stratum for c in CLASSES}
    sizes = {name[r[0]]: r[1] for r in rows}
    weights = {name[r[0]]: r[2] / 1e6 / area for r in rows}
    # asm's anticipated share: U in strata mapped asm (0.6 and up), 1 - U(not) in those mapped
    # not (below 0.4), the calibrated mean probability in the one holding both.
    share = {name[r[0]]: r[3] for r in rows}
    share |= {h: 0.8 for h in ("p0.6-0.8", "p0.8-1.0") if h in share}
    done = cli(
        "review", "plan", "--target-se", "1", "--users-accuracy", "asm=0.8", "--min-per-stratum",
        "10", "--json",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    p = json.loads(done.stdout)
    take, _, se = estimation.plan(sizes, weights, share, 1 / area, 10)
    assert {s["name"]: s["sample_size"] for s in p["strata"]} == take
    assert p["expected_se_km2"] == pytest.approx(se * area)
    assert p["run_id"] == 1 and p["class"] == "asm"
    assert cli("review", "queue", "--plan", "--hotspots", "0", "--uncertain", "0").code == 0
    drawn = dict(
        pg.execute(
            "SELECT stratum, count(*) FROM asmdb.review_queue "
            "WHERE reason = 'stratified sample' GROUP BY 1"
        ).fetchall()
    )
    assert drawn == {h: n for h, n in take.items() if n}
    inclusion = pg.execute(
        "SELECT stratum, inclusion_probability FROM asmdb.review_queue "
        "WHERE reason = 'stratified sample'"
    ).fetchall()
    assert all(p == pytest.approx(take[h] / sizes[h]) for h, p in inclusion)
