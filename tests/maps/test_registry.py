"""Maps apart from runs: train makes a run and its map; `maps list/show/promote`, the
`runs promote` alias, `asmdb predict` onto another feature set, and what is never shown."""

import json

import numpy as np
import pytest

from asm_db.features.record import FeatureSet
from asm_db.ingest.features import ingest_features
from asm_db.ingest.labels import ingest_labels
from asm_db.ingest.sample import write_sample_data
from asm_db.maps.identity import IncompatibleFeatureSet, check_compatible
from asm_db.modeling.protocols import Protocol
from asm_db.runs.registry import load_model
from asm_db.runs.train import train_run

from conftest import SAMPLE, snapshot

SEED = Protocol(cv="seed", bootstrap=0)
SHOWN = "SELECT count(*), min(map_id), max(map_id), min(run_id) FROM asmdb.latest_predictions"


@pytest.fixture
def loaded(engine, sample):
    ingest_labels(engine, sample.labels)
    ingest_features(engine, sample.features)
    return engine


@pytest.fixture(scope="module")
def later(tmp_path_factory):
    """The sample's grid again with other vectors: a compatible feature set of another time."""
    return write_sample_data(tmp_path_factory.mktemp("later"), **{**SAMPLE, "seed": 11})


@pytest.mark.slow
def test_train_then_maps_list_show_promote_and_the_runs_alias(cli, pg, sample):
    assert cli("ingest", "labels", str(sample.labels)).code == 0
    assert cli("ingest", "features", str(sample.features)).code == 0
    first = json.loads(cli("train", "--cv", "seed", "--bootstrap", "0", "--json").stdout)
    second = json.loads(
        cli(
            "train",
            "--cv",
            "seed",
            "--bootstrap",
            "0",
            "--random-state",
            "2",
            "--no-promote",
            "--json",
        ).stdout
    )
    assert (first["run_id"], first["map_id"], first["promoted"]) == (1, 1, True)
    assert (second["run_id"], second["map_id"], second["promoted"]) == (2, 2, False)
    assert pg.execute(SHOWN).fetchone() == (sample.n_tiles, 1, 1, 1)

    listed = cli("maps", "list")
    assert listed.code == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:3] == ["map", "run", "feature"]
    assert lines[1].split()[:2] == ["2", "2"] and lines[2].split()[:3] == ["1", "*", "1"]
    assert cli("maps").stdout == listed.stdout
    as_json = json.loads(cli("maps", "list", "--json").stdout)
    assert [
        {k: m[k] for k in ("map_id", "run_id", "feature_set", "period_start", "period_end", "promoted")}
        for m in as_json
    ] == [
        {"map_id": 2, "run_id": 2, "feature_set": "default", "period_start": None,
         "period_end": None, "promoted": False},
        {"map_id": 1, "run_id": 1, "feature_set": "default", "period_start": None,
         "period_end": None, "promoted": True},
    ]  # fmt: skip

    promoted = cli("maps", "promote", "2")
    assert promoted.code == 0, promoted.stderr
    assert "map 2 (run 2, feature set 'default', period -) promoted" in promoted.stdout
    assert pg.execute(SHOWN).fetchone() == (sample.n_tiles, 2, 2, 2)
    shown = cli("maps", "show", "2")
    assert "map 2: run 2 (ridge) on feature set 'default'" in shown.stdout
    assert "shown by asmdb.latest_predictions: yes" in shown.stdout
    assert json.loads(cli("maps", "show", "1", "--json").stdout)["promoted"] is False
    runs = cli("runs", "list").stdout.splitlines()
    assert runs[1].startswith("2 *\t") and runs[2].startswith("1  \t")

    # `runs promote` promotes the run's own map.
    alias = cli("runs", "promote", "1")
    assert alias.code == 0 and "map 1 (run 1" in alias.stdout
    assert pg.execute(SHOWN).fetchone() == (sample.n_tiles, 1, 1, 1)

    for args, message in (
        (("maps", "promote", "9"), "error: no map 9; `asmdb maps list` lists them"),
        (("runs", "promote", "9"), "error: no model run 9; `asmdb runs` lists them"),
        (("maps", "show", "9"), "error: no map 9; `asmdb maps list` lists them"),
    ):
        missing = cli(*args)
        assert (missing.code, missing.stderr.strip()) == (1, message)
    assert pg.execute(SHOWN).fetchone() == (sample.n_tiles, 1, 1, 1)


@pytest.mark.slow
def test_a_map_not_promoted_is_never_shown_even_alone(cli, pg, sample, tmp_path):
    cli("ingest", "labels", str(sample.labels))
    cli("ingest", "features", str(sample.features))
    trained = json.loads(
        cli("train", "--cv", "seed", "--bootstrap", "0", "--no-promote", "--json").stdout
    )
    assert trained["map_id"] == 1 and trained["promoted"] is False
    assert pg.execute(SHOWN).fetchone() == (0, None, None, None)
    assert pg.execute("SELECT asmdb.promoted_map(), asmdb.promoted_run()").fetchone() == (
        None,
        None,
    )
    assert "*" not in cli("maps", "list").stdout
    assert json.loads(cli("maps", "list", "--json").stdout)[0]["promoted"] is False
    exported = cli("export", "predictions", str(tmp_path / "shown.gpkg"))
    assert exported.code == 1 and "no promoted map" in exported.stderr
    by_map = cli("export", "predictions", "--map", "1", str(tmp_path / "map1.gpkg"))
    assert by_map.code == 0, by_map.stderr
    assert f"map 1 (run 1), {sample.n_tiles} tiles" in by_map.stdout
    both = cli("export", "predictions", "--map", "1", "--run", "1", str(tmp_path / "x.gpkg"))
    assert both.code == 1 and "not both" in both.stderr


def test_train_no_map_records_the_run_only(loaded, pg):
    result = train_run(loaded, protocol=SEED, make_map=False)
    assert result.map_id is None and result.counts["tiles_predicted"] == 0
    assert pg.execute("SELECT count(*) FROM asmdb.maps").fetchone() == (0,)
    assert pg.execute("SELECT count(*) FROM asmdb.model_runs").fetchone() == (1,)


def _vectors(pg, feature_set: str) -> tuple[np.ndarray, np.ndarray]:
    rows = pg.execute(
        "SELECT f.tile_id, f.features FROM asmdb.tile_features f "
        "JOIN asmdb.feature_sets s USING (feature_set_id) WHERE s.name = %s ORDER BY f.tile_id",
        (feature_set,),
    ).fetchall()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    return ids, np.stack([np.frombuffer(r[1], dtype="<f4") for r in rows])


@pytest.mark.slow
def test_predict_onto_another_feature_set_is_the_model_applied_to_its_vectors(
    loaded, cli, pg, later
):
    run = train_run(loaded, protocol=SEED)
    ingest_features(loaded, later.features, feature_set="later")
    made = cli("predict", "--run", str(run.run_id), "--feature-set", "later", "--json")
    assert made.code == 0, made.stderr
    out = json.loads(made.stdout)
    assert out["map_id"] == run.map_id + 1
    assert (out["run_id"], out["feature_set"], out["tiles"], out["promoted"]) == (
        run.run_id,
        "later",
        later.n_tiles,
        True,
    )

    ids, X = _vectors(pg, "later")
    model = load_model(loaded, run.run_id)
    expected = model.probability(model.score(X))
    stored = pg.execute(
        "SELECT tile_id, probability, score, run_id FROM asmdb.predictions WHERE map_id = %s "
        "ORDER BY tile_id",
        (out["map_id"],),
    ).fetchall()
    assert [r[0] for r in stored] == ids.tolist()
    # float32 vectors: the score of a batch and of the whole matrix agree to float32 precision.
    assert np.allclose([r[2] for r in stored], model.score(X), rtol=1e-5, atol=1e-6)
    assert np.allclose([r[1] for r in stored], expected, atol=1e-6)
    assert {r[3] for r in stored} == {run.run_id}
    # The other time's vectors differ, and so does its map.
    own = pg.execute(
        "SELECT probability FROM asmdb.predictions WHERE map_id = %s ORDER BY tile_id",
        (run.map_id,),
    ).fetchall()
    assert not np.allclose([r[0] for r in own], expected)

    # Promoted by default; the view and the map's record say so.
    assert pg.execute(SHOWN).fetchone() == (later.n_tiles, out["map_id"], out["map_id"], run.run_id)
    listed = json.loads(cli("maps", "list", "--json").stdout)
    assert [(m["map_id"], m["feature_set"], m["promoted"]) for m in listed] == [
        (out["map_id"], "later", True),
        (run.map_id, "default", False),
    ]
    quiet = json.loads(
        cli("predict", "--run", "1", "--feature-set", "later", "--no-promote", "--json").stdout
    )
    assert quiet["promoted"] is False
    assert pg.execute(SHOWN).fetchone()[1] == out["map_id"]
    # `runs promote` goes back to the map the run made on its own feature set.
    assert cli("runs", "promote", "1").code == 0
    assert pg.execute(SHOWN).fetchone() == (pg.execute(
        "SELECT count(*) FROM asmdb.predictions WHERE map_id = %s", (run.map_id,)
    ).fetchone()[0], run.map_id, run.map_id, run.run_id)  # fmt: skip
    text = cli("predict", "--run", "1", "--feature-set", "later", "--readers", "1")
    assert text.code == 0 and "applied to" in text.stdout and "later" in text.stdout


@pytest.mark.slow
def test_an_incompatible_feature_set_is_refused_and_nothing_changes(loaded, cli, pg, tmp_path):
    train_run(loaded, protocol=SEED)
    narrow = write_sample_data(tmp_path / "narrow", **{**SAMPLE, "n_features": 128, "seed": 3})
    ingest_features(loaded, narrow.features, feature_set="narrow")
    before = snapshot(pg)
    refused = cli("predict", "--run", "1", "--feature-set", "narrow")
    assert refused.code == 1 and refused.stdout == ""
    assert refused.stderr.strip() == (
        "error: feature set 'narrow' does not fit run 1: it has 128 features, the run's model "
        "takes 256 (feature set 'default')"
    )
    for args, message in (
        (("--run", "9", "--feature-set", "default"), "no model run 9"),
        (("--run", "1", "--feature-set", "nope"), "no feature set named 'nope'"),
    ):
        missing = cli("predict", *args)
        assert missing.code == 1 and message in missing.stderr
        assert len(missing.stderr.strip().splitlines()) == 1
    assert snapshot(pg) == before


@pytest.fixture
def imagery_run(cli, sample):
    """Run 1 trained on the sample's imagery featurized (K = 64, scale 1/10000 from the file's
    metadata), without a map."""
    assert cli("ingest", "labels", str(sample.labels)).code == 0
    made = cli(
        "featurize", str(sample.imagery), "--feature-set", "first", "--features", "64",
        "--workers", "0",
    )  # fmt: skip
    assert made.code == 0, made.stderr
    trained = cli("train", "--feature-set", "first", "--cv", "seed", "--bootstrap", "0", "--no-map")
    assert trained.code == 0, trained.stderr
    return cli


@pytest.mark.slow
def test_predict_refuses_features_255_times_off_in_one_line_unless_forced(imagery_run, pg, sample):
    """The later period read with a scale 255 times too large (the scale of 8-bit chips given
    to one period only) is refused, naming the likely cause; --force maps it; the same period
    featurized --like the first passes."""
    cli = imagery_run
    off = cli(
        "featurize", str(sample.later_imagery), "--feature-set", "off", "--like", "first",
        "--scale", "255/10000", "--workers", "0",
    )  # fmt: skip
    assert off.code == 0, off.stderr
    before = snapshot(pg)
    refused = cli("predict", "--run", "1", "--feature-set", "off")
    assert refused.code == 1 and refused.stdout == ""
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert lines[0].startswith(
        "error: feature set 'off' does not look like run 1's training features (feature set "
        "'first'): its features' spreads differ by a factor of "
    )
    assert "`asmdb featurize --scale/--offset`" in lines[0] and "--force" in lines[0]
    assert snapshot(pg) == before

    forced = cli("predict", "--run", "1", "--feature-set", "off", "--force", "--json")
    assert forced.code == 0, forced.stderr
    assert "mapped anyway (--force)" in forced.stderr
    assert json.loads(forced.stdout)["tiles"] > 0

    alike = cli(
        "featurize", str(sample.later_imagery), "--feature-set", "later", "--like", "first",
        "--workers", "0",
    )  # fmt: skip
    assert alike.code == 0, alike.stderr
    mapped = cli("predict", "--run", "1", "--feature-set", "later")
    assert mapped.code == 0, mapped.stderr
    assert "does not look like" not in mapped.stderr


def test_another_period_of_the_same_features_passes_the_check(trained, cli, sample):
    ingest_features(trained, sample.later_features, feature_set="later")
    mapped = cli("predict", "--run", "1", "--feature-set", "later")
    assert mapped.code == 0, mapped.stderr
    assert mapped.stderr == ""


def test_a_run_made_before_feature_summaries_predicts_with_a_note(trained, cli, pg, sample):
    pg.execute("UPDATE asmdb.model_runs SET metrics = metrics - 'feature_summary'")
    ingest_features(trained, sample.later_features, feature_set="later")
    mapped = cli("predict", "--run", "1", "--feature-set", "later")
    assert mapped.code == 0, mapped.stderr
    assert mapped.stderr.strip() == (
        "run 1 has no feature summary (made by asmdb 0.1.0, before runs recorded one): not checked"
    )


def test_the_feature_summary_stays_out_of_the_runs_metrics(trained, cli, pg):
    stored = pg.execute("SELECT metrics -> 'feature_summary' FROM asmdb.model_runs").fetchone()[0]
    assert stored["format"] == "median-iqr/1" and len(stored["median"]) == SAMPLE["n_features"]
    shown = json.loads(cli("runs", "show", "1", "--json").stdout)
    assert "feature_summary" not in json.dumps(shown)


def test_feature_names_must_match_in_order():
    trained = FeatureSet(1, "a", 3, ["b1", "b2", "b3"])
    check_compatible(1, trained, FeatureSet(2, "same", 3, ["b1", "b2", "b3"]))
    with pytest.raises(
        IncompatibleFeatureSet, match="its feature 2 is 'b3', the run's model takes 'b2'"
    ):
        check_compatible(1, trained, FeatureSet(2, "swapped", 3, ["b1", "b3", "b2"]))
