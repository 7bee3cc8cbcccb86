"""Training end to end: the seed's protocol on the SQL join, predictions written back."""

import json

import numpy as np
import pytest

from asm_db.ingest.features import ingest_features
from asm_db.ingest.labels import ingest_labels
from asm_db.ingest.sample import write_sample_data
from asm_db.modeling.protocols import Protocol
from asm_db.runs.registry import load_model
from asm_db.runs.train import LabelFilters, train_run

from conftest import snapshot
from seed_reference import run_seed

# No bootstrap intervals: no test here asserts them (test_evaluation.py does).
SEED = Protocol(cv="seed", bootstrap=0)
# The test sample spans 0.24 degrees: blocks of 0.05 give 25 of them.
SPATIAL = Protocol(block_size=0.05, bootstrap=0)


@pytest.mark.slow
def test_train_predicts_every_tile_with_useful_auc(loaded, pg, sample, tmp_path):
    result = train_run(loaded, protocol=SPATIAL, plots_dir=tmp_path / "plots")
    assert result.fit.auc_uncalibrated > 0.65
    assert result.fit.auc_calibrated > 0.65
    assert result.fit.best_alpha in Protocol().alphas
    count, valid, srid, lo, hi = pg.execute(
        "SELECT count(*), bool_and(ST_IsValid(geom)), max(ST_SRID(geom)), min(probability), "
        "max(probability) FROM asmdb.predictions WHERE run_id = %s",
        (result.run_id,),
    ).fetchone()
    assert count == sample.n_tiles == result.counts["tiles_predicted"]
    assert valid and srid == 4326 and 0 <= lo < hi <= 1
    # each prediction sits on its tile
    assert pg.execute(
        "SELECT bool_and(ST_Equals(p.geom, t.geom)) FROM asmdb.predictions p "
        "JOIN asmdb.tiles t USING (tile_id)"
    ).fetchone()[0]
    pngs = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert len(pngs) == 8 and f"run-{result.run_id}-reliability.png" in pngs
    assert all((tmp_path / "plots" / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in pngs)
    run = pg.execute(
        "SELECT parameters, metrics, counts FROM asmdb.model_runs WHERE run_id = %s",
        (result.run_id,),
    ).fetchone()
    assert run[0]["protocol"]["random_state"] == 1991
    assert run[1]["auc_calibrated"] == pytest.approx(result.fit.auc_calibrated)
    assert run[2]["training_rows"] == result.counts["training_rows"]


@pytest.mark.slow
def test_latest_predictions_is_the_newest_run_and_stored_model_reapplies(loaded, pg):
    first = train_run(loaded, protocol=SEED)
    second = train_run(
        loaded,
        filters=LabelFilters(min_confidence=4),
        protocol=Protocol(cv="seed", random_state=7, bootstrap=0),
    )
    rows = pg.execute(
        "SELECT count(*), count(DISTINCT tile_id), min(run_id), max(run_id) "
        "FROM asmdb.latest_predictions"
    ).fetchone()
    assert rows == (second.counts["tiles_predicted"],) * 2 + (second.run_id,) * 2
    assert second.run_id > first.run_id
    # Each run's map is its own partition, and the view reads only the promoted map's.
    partitions = pg.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'asmdb.predictions'::regclass ORDER BY 1"
    ).fetchall()
    assert [r[0] for r in partitions] == [
        f"predictions_map_{first.map_id}",
        f"predictions_map_{second.map_id}",
    ]
    plan = "\n".join(
        r[0]
        for r in pg.execute(
            "EXPLAIN (ANALYZE, COSTS OFF) SELECT count(*) FROM asmdb.latest_predictions"
        )
    )
    assert f"predictions_map_{second.map_id}" in plan
    # The other map's partition is pruned: at planning, or at execution start (never read).
    other = [line for line in plan.splitlines() if f"predictions_map_{first.map_id} " in line]
    assert all("(never executed)" in line for line in other), plan
    assert other or "Subplans Removed: 1" in plan, plan
    model = load_model(loaded, first.run_id)
    tile_id, features = pg.execute(
        "SELECT tile_id, features FROM asmdb.tile_features LIMIT 1"
    ).fetchone()
    stored = pg.execute(
        "SELECT score, probability FROM asmdb.predictions WHERE run_id = %s AND tile_id = %s",
        (first.run_id, tile_id),
    ).fetchone()
    score = model.score(np.frombuffer(features, dtype="<f4")[None, :])
    assert score[0] == pytest.approx(stored[0], rel=1e-4)
    assert model.probability(score)[0] == pytest.approx(stored[1], abs=1e-4)


@pytest.mark.slow
def test_matches_the_seed_notebook_in_memory(engine, pg, tmp_path):
    # Without labels on tile edges every label joins one tile, so the seed's sjoin order equals
    # asmdb's (label, tile) order and the same split must give the same model, exactly.
    data = write_sample_data(
        tmp_path, n_lat=24, n_lon=24, n_features=256, n_labels=600, edge_share=0.0, seed=11
    )
    ingest_labels(engine, data.labels)
    ingest_features(engine, data.features)
    ours = train_run(engine, protocol=SEED)
    seed = run_seed(data.labels, data.features, 256)
    assert ours.counts["training_rows"] == seed["n_rows"]
    assert ours.fit.best_alpha == seed["best_alpha"]
    assert ours.fit.auc_uncalibrated == pytest.approx(seed["auc_uncalibrated"], abs=1e-12)
    assert ours.fit.auc_calibrated == pytest.approx(seed["auc_calibrated"], abs=1e-12)
    stored = dict(
        pg.execute(
            "SELECT t.image_id, p.probability FROM asmdb.latest_predictions p "
            "JOIN asmdb.tiles t USING (tile_id)"
        ).fetchall()
    )
    seed_probability = dict(zip(seed["image_id"], seed["probability"], strict=True))
    assert stored.keys() == seed_probability.keys()
    assert max(abs(stored[k] - seed_probability[k]) for k in stored) < 1e-3
    # The seed protocol keeps the notebook's isotonic calibration unless told otherwise.
    assert ours.fit.calibration.method == "isotonic" == ours.metrics["calibration"]["method"]
    assert load_model(engine, ours.run_id).calibration == "isotonic"


def test_one_class_after_filters_is_a_clear_error(loaded):
    from asm_db.modeling.protocols import TrainingDataError

    with pytest.raises(TrainingDataError, match="no training rows"):
        train_run(loaded, filters=LabelFilters(min_confidence=99))
    with pytest.raises(TrainingDataError, match="only label \\[1\\]"):
        train_run(loaded, filters=LabelFilters(min_proportion_inspected=2))


@pytest.mark.slow
def test_parallel_readers_score_every_tile_once_in_order(loaded, pg, sample):
    one = train_run(loaded, protocol=SEED, readers=1, promote=False)
    three = train_run(loaded, protocol=SEED, readers=3, promote=False)
    assert np.array_equal(one.predictions.tile_id, three.predictions.tile_id)
    assert np.array_equal(np.sort(three.predictions.tile_id), three.predictions.tile_id)
    assert len(three.predictions.tile_id) == sample.n_tiles
    assert np.allclose(one.predictions.score, three.predictions.score, rtol=1e-5, atol=1e-6)
    stored = pg.execute(
        "SELECT count(*), count(DISTINCT tile_id) FROM asmdb.predictions WHERE run_id = %s",
        (three.run_id,),
    ).fetchone()
    assert stored == (sample.n_tiles, sample.n_tiles)


def _distinct_map_probabilities(pg, run_id) -> tuple[int, int]:
    return pg.execute(
        "SELECT count(DISTINCT probability), count(*) FILTER (WHERE probability IN (0, 1)) "
        "FROM asmdb.predictions WHERE run_id = %s",
        (run_id,),
    ).fetchone()


@pytest.mark.slow
def test_auto_calibration_keeps_the_lower_out_of_fold_brier(loaded, pg):
    auto = train_run(loaded, protocol=SPATIAL)
    isotonic = train_run(
        loaded, protocol=Protocol(block_size=0.05, bootstrap=0, calibration="isotonic")
    )
    sigmoid = train_run(
        loaded, protocol=Protocol(block_size=0.05, bootstrap=0, calibration="sigmoid")
    )
    recorded = auto.metrics["calibration"]
    briers = recorded["brier_out_of_fold"]
    # Each calibration's recorded out-of-fold Brier is the Brier of the run made with it alone.
    for run, method in ((isotonic, "isotonic"), (sigmoid, "sigmoid")):
        assert run.metrics["brier_calibrated"]["value"] == pytest.approx(briers[method], abs=1e-12)
        assert run.metrics["calibration"]["brier_out_of_fold"] == pytest.approx(briers)
        assert run.metrics["calibration"]["requested"] == method == run.fit.calibration.method
    chosen = min(briers, key=lambda m: (briers[m], m != "sigmoid"))
    assert recorded["method"] == chosen and recorded["requested"] == "auto"
    assert "lower held-out Brier" in recorded["reason"]
    assert auto.metrics["brier_calibrated"]["value"] == pytest.approx(briers[chosen], abs=1e-12)
    # Recorded with the run: its parameters, its description and its stored model agree.
    for run in (auto, isotonic, sigmoid):
        parameters, method = pg.execute(
            "SELECT parameters, metrics->'calibration'->>'method' FROM asmdb.model_runs "
            "WHERE run_id = %s",
            (run.run_id,),
        ).fetchone()
        assert parameters["calibration"] == method == run.fit.calibration.method
        assert load_model(loaded, run.run_id).calibration == method
        described = "IsotonicRegression" if method == "isotonic" else "Platt scaling"
        assert described in parameters["model"]
    assert parameters["protocol"]["calibration"] == "sigmoid"
    # The sigmoid map is smooth: far more distinct probabilities, none exactly 0 or 1.
    iso_distinct, iso_extremes = _distinct_map_probabilities(pg, isotonic.run_id)
    sig_distinct, sig_extremes = _distinct_map_probabilities(pg, sigmoid.run_id)
    assert sig_distinct > 5 * iso_distinct and sig_extremes == 0


@pytest.mark.slow
def test_seed_protocol_calibration_can_be_chosen(loaded):
    seed = train_run(loaded, protocol=SEED)
    sigmoid = train_run(loaded, protocol=Protocol(cv="seed", bootstrap=0, calibration="sigmoid"))
    auto = train_run(loaded, protocol=Protocol(cv="seed", bootstrap=0, calibration="auto"))
    assert (
        seed.fit.calibration.method == "isotonic"
        and seed.metrics["calibration"]["requested"] == "isotonic"
    )
    assert "seed protocol" in seed.metrics["calibration"]["reason"]
    assert sigmoid.fit.calibration.method == "sigmoid"
    # The same split and model: only the calibration differs.
    assert sigmoid.fit.auc_uncalibrated == seed.fit.auc_uncalibrated
    assert not np.array_equal(sigmoid.fit.probability, seed.fit.probability)
    briers = seed.metrics["calibration"]["brier_out_of_fold"]
    assert briers == sigmoid.metrics["calibration"]["brier_out_of_fold"]
    assert auto.fit.calibration.method == min(briers, key=briers.get)


@pytest.mark.slow
def test_train_calibration_option_on_the_command_line(loaded, cli, pg):
    trained = cli("train", "--block-size", "0.05", "--bootstrap", "0", "--calibration", "sigmoid")
    assert trained.code == 0, trained.stderr
    assert "calibration: sigmoid (--calibration sigmoid; held-out Brier score isotonic 0." in (
        trained.stdout
    )
    shown = cli("runs", "show", "1")
    assert "calibration: sigmoid (--calibration sigmoid" in shown.stdout
    assert "--calibration sigmoid" in shown.stdout.split("reproduce: ", 1)[1]
    as_json = json.loads(cli("train", "--cv", "seed", "--bootstrap", "0", "--json").stdout)
    assert as_json["calibration"] == "isotonic" and as_json["metrics"]["calibration"]["method"]
    before = snapshot(pg)
    wrong = cli("train", "--calibration", "platt")
    assert wrong.code == 2 and "platt" in wrong.stderr and snapshot(pg) == before


@pytest.mark.slow
@pytest.mark.parametrize("model", ["ridge", "logistic", "random-forest", "gradient-boosting"])
def test_every_model_runs_end_to_end(loaded, pg, model):
    protocol = Protocol(block_size=0.05, model=model, folds=3, bootstrap=0)
    result = train_run(loaded, protocol=protocol)
    assert 0.5 < result.fit.auc_uncalibrated <= 1
    assert (
        result.counts["tiles_predicted"]
        == pg.execute(
            "SELECT count(*) FROM asmdb.latest_predictions WHERE run_id = %s", (result.run_id,)
        ).fetchone()[0]
    )
    assert len(result.top_features) == 20 and result.metrics["importance_method"]
    assert pg.execute(
        "SELECT model_name FROM asmdb.model_runs WHERE run_id = %s", (result.run_id,)
    ).fetchone() == (model,)


@pytest.mark.slow
def test_train_reports_progress_through_every_fold_then_the_map(loaded):
    """What the progress bar shows: each outer fold, the final fit, then the tiles scored (not
    "predict tiles 0/?" for the whole fit)."""
    seen = []
    train_run(
        loaded,
        protocol=Protocol(block_size=0.05, folds=3, bootstrap=0),
        progress=lambda stage, done, total: seen.append((stage, done, total)),
    )
    fit = [(done, total) for stage, done, total in seen if stage == "fit"]
    assert fit == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    predicted = [(done, total) for stage, done, total in seen if stage == "predict"]
    assert predicted and predicted[-1][0] == predicted[-1][1] > 0
    assert seen.index(("fit", 4, 4)) < seen.index(("predict", *predicted[0]))
