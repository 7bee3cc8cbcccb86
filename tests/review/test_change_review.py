"""The change review loop on sample data with two periods: train on the first, predict the
second, change, draw the stratified sample of the change classes, answer it from the sample's
truth of both periods, import, and estimate: the 95% intervals of new and of gone mining hold
the true areas."""

from __future__ import annotations

import importlib
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pyogrio
import pytest
from shapely.geometry import box

from asm_db.db.engine import create_engine, downgrade, upgrade
from asm_db.review.area import stratified_estimates
from asm_db.review.change_area import change_estimates, collapse_strata
from asm_db.review.change_queue import allocate

from conftest import invoke_asmdb, snapshot, throwaway_db

MIGRATION = importlib.import_module("asm_db.migrations.versions.0015_change_review")
REFERENCE = {(0, 1): "new", (1, 0): "gone", (1, 1): "persistent", (0, 0): "absent"}

pytestmark = pytest.mark.xdist_group("change_review")  # the module's `changed_template`


@pytest.fixture(scope="module")
def changed_template(template_db, sample):
    """A template holding two periods of the sample, run 1 trained on the first, its map of
    the second (map 2) and change 1 from map 1 to map 2, made as a user would."""
    with throwaway_db(template_db) as url:
        steps = [
            ("ingest", "labels", str(sample.labels)),
            ("ingest", "features", str(sample.features), "--feature-set", "y2019"),
            ("--period", "2019-01-01/2019-12-31"),
            ("ingest", "features", str(sample.later_features), "--feature-set", "y2024"),
            ("--period", "2024-01-01/2024-12-31"),
            ("train", "--feature-set", "y2019", "--cv", "seed", "--bootstrap", "0"),
            ("predict", "--run", "1", "--feature-set", "y2024"),
            ("change", "--from", "1", "--to", "2"),
        ]
        commands, current = [], []
        for step in steps:  # a step starting with an option continues the one before
            if step[0].startswith("--"):
                current += step
            else:
                if current:
                    commands.append(current)
                current = list(step)
        commands.append(current)
        for args in commands:
            done = invoke_asmdb(url, *args)
            assert done.code == 0, (args, done.stderr)
        yield url.rsplit("/", 1)[1]


@pytest.fixture
def changed(changed_template):
    with throwaway_db(changed_template) as url:
        yield url


def _cli(url):
    return lambda *args: invoke_asmdb(url, *args)


def _pg(url):
    return psycopg.connect(url.replace("+psycopg", ""), autocommit=True)


def _truth(sample) -> dict[str, str]:
    """image_id -> the tile's true change class, from the truth of both periods."""
    first = dict(pd.read_csv(sample.truth).itertuples(index=False, name=None))
    later = dict(pd.read_csv(sample.later_truth).itertuples(index=False, name=None))
    return {i: REFERENCE[(first[i], later[i])] for i in first}


def _queue_state(pg) -> list[tuple]:
    return pg.execute(
        "SELECT review_id, status, answer_from, answer_to, reviewer, notes "
        "FROM asmdb.review_queue ORDER BY review_id"
    ).fetchall()


@pytest.mark.slow
def test_the_change_review_loop_holds_the_true_change_areas(changed, sample, tmp_path):
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
    for k in ("new", "gone"):
        true_km2 = sum(a for i, a in area.items() if truth[i] == k)
        got = e["classes"][k]["area_km2"]
        assert true_km2 > 0
        assert got["low"] <= true_km2 <= got["high"], (k, got, true_km2)
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
