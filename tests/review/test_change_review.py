"""The change review loop on sample data with two periods: train on the first, predict the
second, change, draw the stratified sample of the change classes, answer it from the sample's
truth of both periods, import, and estimate; over many draws, the 95% intervals of new and of
gone mining hold the true areas as often as they say."""

from __future__ import annotations

import importlib
import importlib.util
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg
import pyogrio
import pytest
from change_data import true_change as _truth
from shapely.geometry import box

from asm_db.db.engine import create_engine, downgrade, upgrade
from asm_db.review import estimation
from asm_db.review.area import stratified_estimates
from asm_db.review.change_area import change_estimates, collapse_strata
from asm_db.review.change_queue import allocate

from conftest import invoke_asmdb, snapshot, throwaway_db

MIGRATION = importlib.import_module("asm_db.migrations.versions.0015_change_review")

pytestmark = pytest.mark.xdist_group("change_review")  # the module's `changed_template`


@pytest.fixture
def changed(changed_template):
    with throwaway_db(changed_template) as url:
        yield url


def _cli(url):
    return lambda *args: invoke_asmdb(url, *args)


def _pg(url):
    return psycopg.connect(url.replace("+psycopg", ""), autocommit=True)


def _queue_state(pg) -> list[tuple]:
    return pg.execute(
        "SELECT review_id, status, answer_from, answer_to, reviewer, notes "
        "FROM asmdb.review_queue ORDER BY review_id"
    ).fetchall()


@pytest.mark.slow
def test_the_change_review_loop_draws_answers_and_estimates_the_change_areas(
    changed, sample, tmp_path
):
    cli = _cli(changed)
    queued = cli("review", "queue", "--change", "1", "--sample-size", "200")
    assert queued.code == 0, queued.stderr
    with _pg(changed) as pg:
        strata = dict(
            pg.execute(
                "SELECT class, count(*) FROM asmdb.change_tiles WHERE change_id = 1 "
                "AND class <> 'no_data' GROUP BY 1"
            ).fetchall()
        )
        drawn = dict(
            pg.execute(
                "SELECT stratum, count(*) FROM asmdb.review_queue WHERE change_id = 1 "
                "AND reason = 'change sample' GROUP BY 1"
            ).fetchall()
        )
        # Every change class is a stratum with its minimum (all of it, where smaller).
        assert set(drawn) == set(strata)
        assert all(drawn[k] >= min(30, strata[k]) for k in strata)
        assert sum(drawn.values()) == 200
        inclusion = pg.execute(
            "SELECT DISTINCT q.stratum, q.inclusion_probability FROM asmdb.review_queue AS q "
            "WHERE q.change_id = 1"
        ).fetchall()
        assert {k: p for k, p in inclusion} == pytest.approx(
            {k: drawn[k] / strata[k] for k in strata}
        )
    # One sample per change: a second draw would void the inclusion probabilities.
    again = cli("review", "queue", "--change", "1")
    assert again.code == 1 and "already" in again.stderr

    # The reviewer answers both periods from the truth, in the exported GeoPackage.
    exported = tmp_path / "change.gpkg"
    done = cli("review", "export", str(exported), "--change", "1")
    assert done.code == 0, done.stderr
    frame = pyogrio.read_dataframe(exported, layer="review_queue")
    assert {"answer_from", "answer_to", "period_from", "period_to", "p_from", "p_to"} <= set(
        frame.columns
    )
    assert set(frame["period_to"]) == {"2024-01-01/2024-12-31"}
    truth = _truth(sample)
    with _pg(changed) as pg:
        image = dict(pg.execute("SELECT tile_id, image_id FROM asmdb.tiles").fetchall())
    reference = [truth[image[t]] for t in frame["tile_id"]]
    answer = {"new": ("rejected", "confirmed"), "gone": ("confirmed", "rejected")}
    answer |= {"persistent": ("confirmed", "confirmed"), "absent": ("rejected", "rejected")}
    frame["answer_from"] = [answer[r][0] for r in reference]
    frame["answer_to"] = [answer[r][1] for r in reference]
    frame["reviewer"] = "ana"
    answered = tmp_path / "answered.gpkg"
    pyogrio.write_dataframe(frame, answered, layer="review_queue", driver="GPKG")
    imported = cli("review", "import", str(answered))
    assert imported.code == 0, imported.stderr
    with _pg(changed) as pg:
        stored = pg.execute(
            "SELECT q.reference_class, q.status, t.image_id FROM asmdb.review_queue AS q "
            "JOIN asmdb.tiles AS t USING (tile_id) WHERE q.change_id = 1"
        ).fetchall()
        assert all(r == truth[i] for r, _, i in stored)
        # status: the later period's answer; a change review makes no label
        assert all(
            s == ("confirmed" if r in ("new", "persistent") else "rejected") for r, s, _ in stored
        )
        assert pg.execute(
            "SELECT count(*) FROM asmdb.labels WHERE sample_type = 'review'"
        ).fetchone() == (0,)

    estimate = cli("review", "estimate", "--change", "1", "--json")
    assert estimate.code == 0, estimate.stderr
    e = json.loads(estimate.stdout)
    with _pg(changed) as pg:
        area = dict(
            pg.execute(
                "SELECT t.image_id, c.area_km2 FROM asmdb.change_tiles AS c "
                "JOIN asmdb.tiles AS t USING (tile_id) WHERE c.change_id = 1"
            ).fetchall()
        )
        saved = pg.execute("SELECT area_estimate FROM asmdb.changes WHERE change_id = 1").fetchone()
    # (How often such intervals hold the true areas, over many draws: the coverage test below.)
    for k in ("new", "gone"):
        got = e["classes"][k]["area_km2"]
        assert got["low"] <= got["value"] <= got["high"], (k, got)
        assert got["se"] > 0
        model = e["classes"][k]["area_km2_model_assisted"]
        assert model["low"] <= model["value"] <= model["high"], (k, model)
    assert e["total_area_km2"] == pytest.approx(sum(area.values()))
    for k, c in e["classes"].items():
        assert 0 <= c["area_km2"]["low"] <= c["area_km2"]["high"] <= e["total_area_km2"]
        for accuracy in ("users_accuracy", "producers_accuracy"):
            entry = c[accuracy]
            assert entry["value"] is None or 0 <= entry["low"] <= entry["high"] <= 1, (k, entry)
    assert 0 <= e["overall_accuracy"]["low"] <= e["overall_accuracy"]["high"] <= 1
    assert "NaN" not in estimate.stdout
    assert saved[0]["classes"] == e["classes"]
    text = cli("review", "estimate", "--change", "1")
    assert text.code == 0 and text.stdout.splitlines()[1].startswith("class")

    # Per zone: two districts split down a meridian; their estimates add up to the whole.
    with _pg(changed) as pg:
        west, south, east, north = pg.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) AS e FROM asmdb.tiles) AS x"
        ).fetchone()
        centres = dict(
            pg.execute("SELECT image_id, ST_X(ST_Centroid(geom)) FROM asmdb.tiles").fetchall()
        )
    cut = round((west + east) / 2, 2)  # on tile edges: every tile in one district
    zones = gpd.GeoDataFrame(
        {"district": ["West", "East", "All"]},  # "All" overlaps both
        geometry=[
            box(west - 1, south - 1, cut, north + 1),
            box(cut, south - 1, east + 1, north + 1),
            box(west - 1, south - 1, east + 1, north + 1),
        ],
        crs=4326,
    )
    path = tmp_path / "districts.gpkg"
    zones.to_file(path)
    by_zone = cli(
        "review", "estimate", "--change", "1", "--zones", str(path), "--zone-field", "district",
        "--json",
    )  # fmt: skip
    assert by_zone.code == 0, by_zone.stderr
    z = {entry["zone"]: entry for entry in json.loads(by_zone.stdout)["zones"]}
    assert set(z) == {"East", "West", "All"}
    for k in ("new", "gone", "persistent", "absent"):
        total = z["East"]["estimated"][k]["value"] + z["West"]["estimated"][k]["value"]
        assert total == pytest.approx(e["classes"][k]["area_km2"]["value"], rel=1e-9)
        # A zone overlapping others keeps every review inside it: "All" is the whole estimate.
        assert z["All"]["estimated"][k]["value"] == pytest.approx(
            e["classes"][k]["area_km2"]["value"], rel=1e-9
        )
    for name, entry in z.items():
        assert entry["reviewed"] >= 10 and entry["estimated"] is not None
        if name == "All":
            continue
        for k in ("new", "gone"):
            side = (lambda x: x < cut) if name == "West" else (lambda x: x >= cut)
            true_km2 = sum(a for i, a in area.items() if truth[i] == k and side(centres[i]))
            got = entry["estimated"][k]
            assert got["low"] <= true_km2 <= got["high"], (name, k, got, true_km2)
    report = tmp_path / "report.html"
    assert cli("report", "1", str(report)).code == 0
    html = report.read_text()
    assert "reviewed sample tiles (95% intervals)" in html and "Estimated by zone" in html


@pytest.mark.slow
def test_bad_change_answers_are_one_line_and_change_nothing(changed, tmp_path):
    cli = _cli(changed)
    assert (
        cli(
            "review", "queue", "--change", "1", "--min-per-stratum", "3", "--sample-size", "12"
        ).code
        == 0
    )
    assert cli("review", "queue", "--run", "1", "--hotspots", "0", "--uncertain", "0").code == 0
    with _pg(changed) as pg:
        change_ids = [
            r[0]
            for r in pg.execute(
                "SELECT review_id FROM asmdb.review_queue WHERE change_id = 1 ORDER BY 1"
            )
        ]
        map_id = pg.execute(
            "SELECT min(review_id) FROM asmdb.review_queue WHERE change_id IS NULL"
        ).fetchone()[0]
        before = _queue_state(pg)
    first, second = change_ids[:2]
    cases = [
        # a value that is not an answer
        ("review_id,answer_from,answer_to\n" f"{first},confirmed,rejected\n{second},yes,rejected\n",
         "(row 2, column 'answer_from'): answer_from must be one of confirmed, rejected, unclear"),
        # a change review answered in status only
        ("review_id,status\n" f"{first},confirmed\n",
         "(row 1, column 'answer_from'): these rows review a change"),
        # answers on a map's review
        ("review_id,status,answer_from,answer_to\n" f"{first},,confirmed,confirmed\n{map_id},confirmed,,rejected\n",
         "(row 2, column 'answer_to'): answer_from and answer_to are for the review sample of a change"),
        # a file row whose change_id is not its queue row's
        ("review_id,change_id,answer_from,answer_to\n" f"{first},2,confirmed,confirmed\n",
         "(row 1, column 'change_id'): the review_id is of another tile or run (or change)"),
        # neither a status nor an answer
        ("review_id,status,answer_from,answer_to\n" f"{first},,confirmed,\n{second},,,\n",
         "(row 2, column 'status'): status must be one of"),
    ]  # fmt: skip
    for i, (text, message) in enumerate(cases):
        path = tmp_path / f"bad{i}.csv"
        path.write_text(text)
        result = cli("review", "import", str(path))
        assert result.code == 1, (text, result.stdout)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {path} {message}"), (text, lines)
        with _pg(changed) as pg:
            assert _queue_state(pg) == before

    # A partial answer leaves the tile pending; unclear in either period makes it unclear.
    # Answers are taken in any case, trimmed, and stored lower case.
    path = tmp_path / "good.csv"
    path.write_text(
        f"review_id,answer_from,answer_to\n{first},Confirmed ,\n{second},UNCLEAR,rejected\n"
    )
    assert cli("review", "import", str(path)).code == 0
    with _pg(changed) as pg:
        rows = pg.execute(
            "SELECT status, answer_from, answer_to, reference_class FROM asmdb.review_queue "
            "WHERE review_id = ANY(%s) ORDER BY review_id",
            ([first, second],),
        ).fetchall()
    assert rows == [("pending", "confirmed", None, None), ("unclear", "unclear", "rejected", None)]
    # A map's export holds no change rows; a change option with a map's queue is refused.
    plain = tmp_path / "map.gpkg"
    assert cli("review", "export", str(plain)).code == 0
    assert (
        pyogrio.read_dataframe(plain, layer="review_queue")["review_id"].isin(change_ids).sum() == 0
    )
    refused = cli("review", "queue", "--min-per-stratum", "5")
    assert refused.code == 1 and "--min-per-stratum" in refused.stderr
    refused = cli("review", "queue", "--change", "1", "--hotspots", "5")
    assert refused.code == 1 and "--hotspots" in refused.stderr


@pytest.mark.slow
def test_migration_0015_down_and_up_with_change_reviews_in_place(changed):
    cli = _cli(changed)
    assert (
        cli(
            "review", "queue", "--change", "1", "--sample-size", "20", "--min-per-stratum", "5"
        ).code
        == 0
    )
    assert cli("review", "queue", "--run", "1", "--hotspots", "0", "--uncertain", "0").code == 0
    engine = create_engine(changed)
    with _pg(changed) as pg:
        maps_rows = pg.execute(
            "SELECT count(*) FROM asmdb.review_queue WHERE change_id IS NULL"
        ).fetchone()[0]
    downgrade(engine, MIGRATION.down_revision)
    with _pg(changed) as pg:
        # the change rows go with their columns; the map rows stay
        assert pg.execute("SELECT count(*) FROM asmdb.review_queue").fetchone()[0] == maps_rows
        columns = {
            r[0]
            for r in pg.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'asmdb' AND table_name = 'review_queue'"
            )
        }
        assert not columns & {"change_id", "answer_from", "answer_to", "reference_class"}
    upgrade(engine)
    engine.dispose()
    assert (
        cli(
            "review", "queue", "--change", "1", "--sample-size", "20", "--min-per-stratum", "5"
        ).code
        == 0
    )
    with _pg(changed) as pg:
        assert pg.execute(
            "SELECT count(*) FROM asmdb.review_queue WHERE change_id = 1"
        ).fetchone() == (20,)


def test_allocation_gives_rare_classes_their_minimum_and_shares_the_rest():
    sizes = {"new": 12, "gone": 40, "persistent": 100, "absent": 848}
    take = allocate(sizes, 200, 30)
    assert take["new"] == 12 and take["gone"] >= 30 and take["persistent"] >= 30
    assert sum(take.values()) == 200
    assert take["absent"] > take["persistent"] > take["gone"]  # the rest by size
    assert allocate(sizes, 50, 30) == {"new": 12, "gone": 30, "persistent": 30, "absent": 30}
    assert sum(allocate(sizes, 5000, 30).values()) == 1000  # never more than there is


def test_two_classes_are_the_single_map_estimators():
    # A change map whose strata are two map classes is estimated as the one-map estimator
    # estimates ASM area and accuracies (Olofsson's, with the change classes as strata).
    rng = np.random.default_rng(3)
    strata_map, strata_change = [], []
    for name, tiles, km2, p in (("A", 300, 330.0, 0.8), ("B", 700, 760.0, 0.1)):
        ref = (rng.random(40) < p).astype(int)
        prob = 0.9 if name == "A" else 0.1
        strata_map.append(
            {"name": name, "tiles": tiles, "area_km2": km2, "probability": [prob] * 40,
             "reference": list(ref)}
        )  # fmt: skip
        mapped = "persistent" if name == "A" else "absent"
        strata_change.append(
            {"name": mapped, "tiles": tiles, "area_km2": km2, "mapped": [mapped] * 40,
             "reference": ["persistent" if r else "absent" for r in ref]}
        )  # fmt: skip
    one = stratified_estimates(strata_map, 0.5)
    two = change_estimates(strata_change, ("persistent", "absent"))
    mined = two["classes"]["persistent"]
    assert mined["area_km2"]["value"] == pytest.approx(one["asm_area_km2"]["value"])
    assert mined["area_km2"]["se"] == pytest.approx(one["asm_area_km2"]["se"])
    for key in ("users_accuracy", "producers_accuracy"):
        assert mined[key]["value"] == pytest.approx(one[key]["value"])
        assert mined[key]["se"] == pytest.approx(one[key]["se"])
    assert two["overall_accuracy"]["value"] == pytest.approx(one["overall_accuracy"]["value"])


def test_a_collapsed_change_stratum_keeps_its_own_mean_in_the_estimate():
    """`new` has one review (found new) and 400 tiles; `persistent`, its partner, 50 tiles and
    five reviews (all persistent). The new area is new's own 400 tiles, not the pooled sample's
    sixth of 450."""
    strata = [
        {"name": "new", "tiles": 400, "area_km2": 400.0, "mapped": ["new"], "reference": ["new"]},
        {"name": "persistent", "tiles": 50, "area_km2": 50.0, "mapped": ["persistent"] * 5,
         "reference": ["persistent"] * 5},
        {"name": "absent", "tiles": 550, "area_km2": 550.0, "mapped": ["absent"] * 5,
         "reference": ["absent"] * 5},
    ]  # fmt: skip
    e = change_estimates(strata)
    assert [c["stratum"] for c in e["collapsed"]] == ["new"]
    new = e["classes"]["new"]["area_km2"]
    assert new["value"] == pytest.approx(400.0)
    assert new["low"] < 400.0 < new["high"] <= e["total_area_km2"]
    assert e["classes"]["persistent"]["area_km2"]["value"] == pytest.approx(50.0)
    # Its variance: each stratum's own weight, size and correction, with its group's sample
    # variance (new+persistent: one new in six, 1/6; absent, none found: half a tile's worth).
    p = 0.5 / 6
    absent = 5 / 4 * p * (1 - p)
    var = (
        0.4**2 * (1 - 1 / 400) * (1 / 6) / 1
        + 0.05**2 * (1 - 5 / 50) * (1 / 6) / 5
        + 0.55**2 * (1 - 5 / 550) * absent / 5
    )
    assert new["se"] == pytest.approx(1000 * var**0.5)


def test_a_stratum_with_one_review_is_collapsed_into_its_neighbour_and_nothing_is_nan():
    strata = [
        {"name": "new", "tiles": 20, "area_km2": 20.0, "mapped": ["new"], "reference": ["new"]},
        {"name": "gone", "tiles": 15, "area_km2": 15.0, "mapped": [], "reference": []},
        {"name": "persistent", "tiles": 50, "area_km2": 50.0, "mapped": ["persistent"] * 5,
         "reference": ["persistent"] * 4 + ["absent"]},
        {"name": "absent", "tiles": 900, "area_km2": 900.0, "mapped": ["absent"] * 10,
         "reference": ["absent"] * 10},
    ]  # fmt: skip
    kept, collapsed = collapse_strata([{"classes": [s["name"]], **s} for s in strata])
    assert [c["stratum"] for c in collapsed] == ["new", "gone"]
    assert {c["stratum"]: c["into"] for c in collapsed} == {"new": "persistent", "gone": "absent"}
    assert sorted(s["tiles"] for s in kept) == [70, 915]
    e = change_estimates(strata)
    # gone, never reviewed, is merged for the estimate too; new (one review) for the variance
    assert e["collapsed"] == [
        {"stratum": "gone", "reviewed": 0, "into": "absent"},
        {"stratum": "new", "reviewed": 1, "into": "persistent"},
    ]
    assert [s["name"] for s in e["strata"]] == ["new", "persistent", "absent+gone"]
    assert e["classes"]["gone"]["users_accuracy"]["value"] is None  # no gone tile reviewed
    assert "NaN" not in json.dumps(e)
    assert e["classes"]["absent"]["area_km2"]["high"] <= e["total_area_km2"]
    with pytest.raises(Exception, match="review at least 2"):
        change_estimates(
            [{"name": "new", "tiles": 5, "area_km2": 5.0, "mapped": ["new"], "reference": ["new"]}]
        )


def test_a_sample_of_every_tile_gives_the_exact_areas_by_tile_area():
    # Tiles shrink toward the poles: a census of each stratum gives each class's exact area.
    rng = np.random.default_rng(5)
    strata, truth = [], {k: 0.0 for k in ("new", "gone", "persistent", "absent")}
    for name, tiles in (("new", 7), ("gone", 5), ("persistent", 11), ("absent", 40)):
        km2 = rng.uniform(1.1, 1.25, tiles)
        reference = list(rng.choice(list(truth), tiles))
        for k, a in zip(reference, km2, strict=True):
            truth[k] += a
        strata.append(
            {"name": name, "tiles": tiles, "area_km2": float(km2.sum()), "mapped": [name] * tiles,
             "reference": reference, "unit_km2": list(km2)}
        )  # fmt: skip
    e = change_estimates(strata)
    for k, true_km2 in truth.items():
        got = e["classes"][k]["area_km2"]
        assert got["value"] == pytest.approx(true_km2)
        assert got["low"] == pytest.approx(true_km2) and got["high"] == pytest.approx(true_km2)


def test_change_queue_option_defaults_are_the_library_defaults():
    import typer.main

    from asm_db.cli.app import app
    from asm_db.review.options import ChangeQueueOptions

    command = typer.main.get_command(app).commands["review"].commands["queue"]
    cli = {p.name: p.default for p in command.params}
    options = ChangeQueueOptions()
    assert cli["sample_size"] == options.sample_size
    assert cli["min_per_stratum"] == options.min_per_stratum
    assert cli["seed"] == options.seed


@pytest.mark.slow
def test_deleting_the_earlier_run_keeps_answered_change_reviews_unless_told(changed):
    """Change 1 runs from map 1 (run 1) to map 2; a second run's map of 2019 and a change from
    it to map 2 with answered reviews: deleting that run asks for --with-reviews, then takes
    the change, its reviews and its partition."""
    cli = _cli(changed)
    trained = cli("train", "--feature-set", "y2019", "--cv", "seed", "--bootstrap", "0",
                  "--seed", "2", "--json")  # fmt: skip
    assert trained.code == 0, trained.stderr
    second = json.loads(trained.stdout)
    made = cli("change", "--from", str(second["map_id"]), "--to", "2", "--json")
    change_id = json.loads(made.stdout)["change_id"]
    assert cli("review", "queue", "--change", str(change_id), "--sample-size", "40").code == 0
    with _pg(changed) as pg:
        pg.execute(
            "UPDATE asmdb.review_queue SET answer_from = 'rejected', answer_to = 'rejected', "
            "status = 'rejected', reviewer = 'ana', reviewed_at = now() WHERE change_id = %s",
            (change_id,),
        )
        before = snapshot(pg)
        refused = cli("runs", "delete", str(second["run_id"]), "--yes")
        assert refused.code == 1 and "--with-reviews" in refused.stderr, refused.stderr
        assert snapshot(pg) == before
        done = cli("runs", "delete", str(second["run_id"]), "--yes", "--with-reviews")
        assert done.code == 0, done.stderr
        assert pg.execute(
            "SELECT count(*) FROM asmdb.review_queue WHERE change_id = %s", (change_id,)
        ).fetchone() == (0,)
        assert pg.execute(
            "SELECT to_regclass(%s)", (f"asmdb.change_tiles_{change_id}",)
        ).fetchone() == (None,)
        # Change 1 (from run 1's map) is untouched.
        assert (
            pg.execute("SELECT count(*) FROM asmdb.change_tiles WHERE change_id = 1").fetchone()[0]
            > 0
        )


@pytest.mark.slow
def test_the_intervals_hold_the_true_areas_in_most_of_100_draws(changed, sample):
    """A small version of bench/coverage.py: draw the change's and the first map's samples 100
    times, answer from the truth, and count how often each 95% interval, stratified and
    model-assisted, holds the true area of a class the sample can see."""
    bench = Path(__file__).resolve().parents[2] / "bench" / "coverage.py"
    spec = importlib.util.spec_from_file_location("asmdb_bench_coverage", bench)
    coverage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(coverage)

    change_truth, first_truth = coverage.truths(sample)
    url = changed.replace("+psycopg", "")
    found = coverage.coverage(
        coverage.read_change(url, change_truth),
        coverage.read_map(url, first_truth),
        range(100),
    )
    # This small sample's classes the default sample sees: persistent and absent, and ASM.
    assert {"persistent", "absent"} <= set(found["change"]) and "asm" in found["map"]
    for what in ("change", "map"):
        for k, entry in found[what].items():
            assert entry["trials"] == 100
            for name in ("stratified", "model_assisted"):
                # 100 draws: at least 88 (the whole bench's bar is its lower bound at 0.91)
                assert entry[name]["coverage"] >= 0.88, (what, k, name, entry)


@pytest.mark.slow
def test_a_new_change_is_estimated_from_another_changes_reviewed_sample(changed, sample):
    """Stehman 2014 end to end: change 2 (threshold 0.4) has no sample of its own; change 1's
    reviewed sample, drawn over change 1's classes, estimates it."""
    cli = _cli(changed)
    assert cli("change", "--from", "1", "--to", "2", "--threshold", "0.4").code == 0
    assert cli("review", "queue", "--change", "1", "--sample-size", "200").code == 0
    truth = _truth(sample)
    answer = {"new": ("rejected", "confirmed"), "gone": ("confirmed", "rejected")}
    answer |= {"persistent": ("confirmed", "confirmed"), "absent": ("rejected", "rejected")}
    with _pg(changed) as pg:
        for review_id, image_id in pg.execute(
            "SELECT q.review_id, t.image_id FROM asmdb.review_queue AS q "
            "JOIN asmdb.tiles AS t USING (tile_id) WHERE q.change_id = 1"
        ).fetchall():
            pg.execute(
                "UPDATE asmdb.review_queue SET answer_from = %s, answer_to = %s "
                "WHERE review_id = %s",
                (*answer[truth[image_id]], review_id),
            )
        mapped = dict(
            pg.execute(
                "SELECT class::text, sum(area_km2) FROM asmdb.change_tiles WHERE change_id = 2 "
                "GROUP BY 1"
            ).fetchall()
        )
    own = cli("review", "estimate", "--change", "2")
    assert own.code == 1 and "no review sample" in own.stderr
    old = json.loads(cli("review", "estimate", "--change", "1", "--json").stdout)
    done = cli("review", "estimate", "--change", "2", "--sample-of", "1", "--json")
    assert done.code == 0, done.stderr
    e = json.loads(done.stdout)
    assert e["change_id"] == 2 and e["sample_of"] == 1
    for k, c in e["classes"].items():
        # The true areas do not depend on the map: the same sample, the same estimate.
        assert c["area_km2"]["value"] == pytest.approx(old["classes"][k]["area_km2"]["value"])
        # What the map shows, and how right it is, are the new change's.
        assert c["mapped_area_km2"] == pytest.approx(mapped.get(k, 0.0))
    assert e["classes"]["new"]["mapped_area_km2"] != old["classes"]["new"]["mapped_area_km2"]
    text = cli("review", "estimate", "--change", "2", "--sample-of", "1")
    assert "estimated from the reviewed sample of change 1" in text.stdout
    # Another pair of periods: its answers say nothing of this change's.
    assert cli("change", "--from", "2", "--to", "1").code == 0
    other = cli("review", "estimate", "--change", "3", "--sample-of", "1")
    assert other.code == 1 and "other periods" in other.stderr


def _design_inputs(url, change_id=1):
    """The strata sizes, area weights and calibrated class means of a change, read directly."""
    with _pg(url) as pg:
        rows = pg.execute(
            "SELECT class::text, count(*), sum(area_km2), "
            "sum(area_km2 * (1 - p_from) * p_to) / sum(area_km2), "
            "sum(area_km2 * p_from * (1 - p_to)) / sum(area_km2), "
            "sum(area_km2 * p_from * p_to) / sum(area_km2), "
            "sum(area_km2 * (1 - p_from) * (1 - p_to)) / sum(area_km2) "
            "FROM asmdb.change_tiles WHERE change_id = %s AND class <> 'no_data' GROUP BY 1",
            (change_id,),
        ).fetchall()
    area = sum(r[2] for r in rows)
    sizes = {r[0]: r[1] for r in rows}
    weights = {r[0]: r[2] / area for r in rows}
    means = {
        r[0]: dict(zip(("new", "gone", "persistent", "absent"), r[3:], strict=True)) for r in rows
    }
    return sizes, weights, means, area


def _plans(url) -> int:
    with _pg(url) as pg:
        return pg.execute("SELECT count(*) FROM asmdb.review_plans").fetchone()[0]


@pytest.mark.slow
def test_review_plan_gives_the_sizes_that_reach_the_target_from_anticipated_accuracies(changed):
    cli = _cli(changed)
    sizes, weights, means, area = _design_inputs(changed)
    done = cli("review", "plan", "--change", "1", "--class", "new", "--target-se", "2", "--json")
    assert done.code == 0, done.stderr
    p = json.loads(done.stdout)
    assert {"strata", "expected_se_km2", "target", "users_accuracy", "plan_id"} <= set(p)
    # By default the user's accuracies are the calibration's: the mean of p_to (1 - p_from) over
    # the new tiles for new; elsewhere, the share of new among the errors the calibration implies.
    share = {h: means[h]["new"] for h in sizes}
    take, _, se = estimation.plan(sizes, weights, share, 2 / area, 50)
    assert {s["name"]: s["sample_size"] for s in p["strata"]} == take
    assert {s["name"]: s["tiles"] for s in p["strata"]} == sizes
    assert p["expected_se_km2"] == pytest.approx(se * area)
    assert p["expected_se_km2"] <= 2 or sum(take.values()) == sum(sizes.values())
    assert {s["source"] for s in p["strata"]} == {"calibration"}
    with _pg(changed) as pg:
        stored = pg.execute(
            "SELECT change_id, class, target_se_km2, sample_sizes FROM asmdb.review_plans"
        ).fetchall()
    assert stored == [(1, "new", 2.0, take)]

    # Given user's accuracies: the new stratum's share is it; others share 1 - U as calibrated.
    done = cli(
        "review", "plan", "--change", "1", "--target-se", "2", "--users-accuracy", "new=0.6",
        "--users-accuracy", "absent=0.99", "--json",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    p = json.loads(done.stdout)
    given = dict(share, new=0.6)
    given["absent"] = 0.01 * means["absent"]["new"] / (1 - means["absent"]["absent"])
    take, _, se = estimation.plan(sizes, weights, given, 2 / area, 50)
    assert {s["name"]: s["sample_size"] for s in p["strata"]} == take
    assert p["expected_se_km2"] == pytest.approx(se * area)
    by_name = {s["name"]: s for s in p["strata"]}
    assert by_name["new"]["source"] == "given" and by_name["gone"]["source"] == "calibration"
    assert p["users_accuracy"]["new"] == {"value": 0.6, "source": "given"}

    # A margin of error in per cent of the class's anticipated area: 1.96 SE = 20% of it.
    done = cli("review", "plan", "--change", "1", "--target-moe", "20", "--json")
    assert done.code == 0, done.stderr
    p = json.loads(done.stdout)
    expected_km2 = area * sum(weights[h] * share[h] for h in sizes)
    target = 0.2 * expected_km2 / 1.959964
    assert p["target"]["se_km2"] == pytest.approx(target)
    take, _, _ = estimation.plan(sizes, weights, share, target / area, 50)
    assert {s["name"]: s["sample_size"] for s in p["strata"]} == take

    text = cli("review", "plan", "--change", "1", "--target-se", "2")
    assert text.code == 0 and text.stdout.splitlines()[1].split()[:3] == [
        "stratum",
        "tiles",
        "sample",
    ]
    assert "user's accuracies from calibration" in text.stdout.splitlines()[-1]
    assert _plans(changed) == 4


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, message",
    [
        (("--target-se", "0"), "--target-se 0: must be more than 0"),
        (("--target-se", "-1"), "--target-se -1: must be more than 0"),
        (("--target-moe", "0"), "--target-moe 0: must be more than 0"),
        (("--target-se", "1", "--users-accuracy", "new=0"), "must be more than 0 and at most 1"),
        (("--target-se", "1", "--users-accuracy", "new=1.2"), "must be more than 0 and at most 1"),
        (("--target-se", "1", "--users-accuracy", "asm=0.9"), "asm is not one of new, gone"),
        (("--target-se", "1", "--users-accuracy", "new"), "give CLASS=VALUE"),
        (("--target-se", "1", "--class", "mined"), "--class mined: not one of"),
        ((), "name one target"),
    ],
)
def test_a_bad_plan_value_is_one_line_and_stores_nothing(changed, args, message):
    done = _cli(changed)("review", "plan", "--change", "1", *args)
    assert done.code == 1
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert _plans(changed) == 0


@pytest.mark.slow
def test_queue_plan_draws_the_plan_and_extend_adds_to_the_sample_keeping_answers(changed, sample):
    cli = _cli(changed)
    none = cli("review", "queue", "--change", "1", "--plan")
    assert none.code == 1 and "no sample plan" in none.stderr
    planned = cli(
        "review", "plan", "--change", "1", "--target-se", "3", "--min-per-stratum", "5", "--json"
    )
    assert planned.code == 0, planned.stderr
    sizes = {s["name"]: s["sample_size"] for s in json.loads(planned.stdout)["strata"]}
    tiles = {s["name"]: s["tiles"] for s in json.loads(planned.stdout)["strata"]}
    queued = cli("review", "queue", "--change", "1", "--plan")
    assert queued.code == 0, queued.stderr
    with _pg(changed) as pg:
        drawn = dict(
            pg.execute(
                "SELECT stratum, count(*) FROM asmdb.review_queue WHERE change_id = 1 GROUP BY 1"
            ).fetchall()
        )
    assert drawn == {k: n for k, n in sizes.items() if n}

    # A second plain draw is refused; --extend adds to the sample.
    again = cli("review", "queue", "--change", "1")
    assert again.code == 1 and "--extend N" in again.stderr

    # Answer the first sample from the truth, then extend it.
    truth = _truth(sample)
    answer = {"new": ("rejected", "confirmed"), "gone": ("confirmed", "rejected")}
    answer |= {"persistent": ("confirmed", "confirmed"), "absent": ("rejected", "rejected")}

    def answer_pending(pg):
        for review_id, image_id in pg.execute(
            "SELECT q.review_id, t.image_id FROM asmdb.review_queue AS q "
            "JOIN asmdb.tiles AS t USING (tile_id) WHERE q.change_id = 1 "
            "AND q.answer_from IS NULL"
        ).fetchall():
            pg.execute(
                "UPDATE asmdb.review_queue SET answer_from = %s, answer_to = %s, "
                "reviewer = 'ana' WHERE review_id = %s",
                (*answer[truth[image_id]], review_id),
            )

    with _pg(changed) as pg:
        answer_pending(pg)
        before = _queue_state(pg)
    extended = cli("review", "queue", "--change", "1", "--extend", "40")
    assert extended.code == 0, extended.stderr
    with _pg(changed) as pg:
        after = _queue_state(pg)
        rows = pg.execute(
            "SELECT stratum, count(*), min(inclusion_probability), max(inclusion_probability) "
            "FROM asmdb.review_queue WHERE change_id = 1 GROUP BY 1"
        ).fetchall()
    # 40 new pending rows; every answer given before is kept.
    assert len(after) == len(before) + 40
    assert after[: len(before)] == before
    assert all(r[1] == "pending" and r[2] is None for r in after[len(before) :])
    # Each stratum's sample is a stratified random sample of the larger size: n_h / N_h for all.
    for stratum, n, low, high in rows:
        assert low == pytest.approx(high) == pytest.approx(n / tiles[stratum]), stratum
    assert sum(n for _, n, _, _ in rows) == sum(drawn.values()) + 40
    # The plan's shortfall first: a stratum the plan wanted more of is filled before others.
    grown = {s: n - drawn.get(s, 0) for s, n, _, _ in rows}
    assert sum(grown.values()) == 40

    # The estimate after the extension is the Horvitz-Thompson estimator on the union with the
    # new inclusion probabilities: sum of tile area / inclusion probability over the class.
    with _pg(changed) as pg:
        answer_pending(pg)
        union = pg.execute(
            "SELECT q.reference_class, c.area_km2, q.inclusion_probability "
            "FROM asmdb.review_queue AS q JOIN asmdb.change_tiles AS c "
            "ON c.change_id = q.change_id AND c.tile_id = q.tile_id WHERE q.change_id = 1"
        ).fetchall()
    e = json.loads(cli("review", "estimate", "--change", "1", "--json").stdout)
    for k in ("new", "gone", "persistent", "absent"):
        by_hand = sum(a / p for r, a, p in union if r == k)
        assert e["classes"][k]["area_km2"]["value"] == pytest.approx(by_hand), k
    assert e["reviewed"] == len(union)
