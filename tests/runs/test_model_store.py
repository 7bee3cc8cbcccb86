"""Stored models (`asmdb-model/1`): read back from plain arrays, they score exactly as the fitted
model; a tampered row is refused by every command that loads it, and nothing in it runs; old
joblib pickles migrate (migration 0008) without being trusted, and downgrade back."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import sys
import types
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import RidgeClassifier

from asm_db.db.engine import downgrade, head_revision
from asm_db.migrations import legacy_pickle
from asm_db.modeling import calibration, estimators
from asm_db.modeling.protocols import CalibratedClassifier, Protocol
from asm_db.runs import model_store
from asm_db.runs.registry import ModelRefused, load_model

from conftest import snapshot

pytestmark = pytest.mark.slow  # trains every model kind and migrates down and up

BEFORE_MODEL_STORE = "0007"  # the revision before 0008 converted the pickles
KINDS = tuple(estimators.MODELS)


def _synthetic(n=400, k=16, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, k)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] ** 2 + rng.normal(size=n) > 1).astype(int)
    return X, y


def _fitted(kind: str, X, y, method: str = "isotonic") -> CalibratedClassifier:
    classifier = estimators.model_spec(kind).make(1).fit(X, y)
    scores = estimators.scores(classifier, X)
    calibrator = calibration.fit_calibrator(method, scores, y)
    return CalibratedClassifier(classifier, calibrator, [f"f{i}" for i in range(X.shape[1])])


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_stored_model_scores_bit_for_bit_as_the_fitted_one(kind, method):
    X, y = _synthetic()
    model = _fitted(kind, X, y, method)
    data = model_store.encode(model)
    assert not data.startswith(b"\x80") and b"asm_db" not in data  # no class path of asmdb
    stored = model_store.decode(data, model_store.FORMAT)
    assert stored.kind == kind and stored.feature_names == model.feature_names
    assert stored.calibration == method
    new = np.random.default_rng(1).normal(scale=1.5, size=(3000, X.shape[1])).astype(np.float32)
    if kind in ("random-forest", "gradient-boosting"):  # trees send missing values one way
        new[np.random.default_rng(2).random(new.shape) < 0.05] = np.nan
    if kind == "random-forest":  # one thread adds the trees in order, as the stored model does
        model.classifier.set_params(n_jobs=1)
    expected, got = model.score(new), stored.score(new)
    assert got.dtype == expected.dtype and np.array_equal(got, expected)
    assert np.array_equal(stored.probability(got), model.probability(expected))
    # The downgrade's scikit-learn rebuild scores the same too.
    probability = stored.probability(got)
    assert np.all((probability >= 0) & (probability <= 1))
    if method == "sigmoid":  # smooth: as many probabilities as distinct scores, none 0 or 1
        assert len(np.unique(probability)) == len(np.unique(got))
        assert 0 < probability.min() and probability.max() < 1
    # The downgrade's scikit-learn rebuild scores the same too, and comes back up unchanged.
    legacy = legacy_pickle.dump_legacy_model(stored)
    old = joblib.load(io.BytesIO(legacy))
    if kind == "random-forest":  # its leaves hold fractions: add the trees in order
        old.classifier.set_params(n_jobs=1)
    assert np.array_equal(old.score(new), expected)
    assert np.array_equal(old.probability(expected), model.probability(expected))
    assert model_store.encode(legacy_pickle.load_legacy_model(legacy)) == data


def test_rows_written_before_sigmoid_calibration_read_as_before():
    """A ridge + isotonic row written by asmdb before sigmoid calibration existed (same data
    as below): it reads, holds what today's writer writes for that model, and calibrates as
    the isotonic regression it was written from."""
    data = (Path(__file__).parents[1] / "data" / "ridge-isotonic.asmdb-model-1").read_bytes()
    stored = model_store.decode(data, model_store.FORMAT)
    assert (stored.kind, stored.calibration) == ("ridge", "isotonic")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4)).astype(np.float32)
    y = (X[:, 0] + rng.normal(size=60) > 0.5).astype(int)
    classifier = RidgeClassifier().fit(X, y)
    iso = IsotonicRegression(out_of_bounds="clip").fit(classifier.decision_function(X), y)
    today = _members(
        model_store.encode(CalibratedClassifier(classifier, iso, [f"f{i}" for i in range(4)]))
    )
    old = _members(data)
    assert list(old) == list(today)  # the same members, in the same order
    for name in old:
        if name.endswith(".npy"):  # fitted values: equal to the last bits only on one CPU
            was, now = (np.load(io.BytesIO(members[name])) for members in (old, today))
            assert (was.dtype, was.shape) == (now.dtype, now.shape), name
            np.testing.assert_allclose(was, now, rtol=1e-5, atol=1e-7, err_msg=name)
    header, header_today = json.loads(old["header.json"]), json.loads(today["header.json"])
    del header["library_versions"], header_today["library_versions"]
    for entry in (*header["arrays"].values(), *header_today["arrays"].values()):
        del entry["sha256"]  # of the fitted values above
    assert header == header_today
    new = np.random.default_rng(5).normal(scale=2, size=(500, 4)).astype(np.float32)
    scores = stored.score(new)
    np.testing.assert_allclose(scores, classifier.decision_function(new), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stored.probability(scores), iso.predict(scores), atol=1e-4)


def test_a_sigmoid_row_that_is_not_one_is_refused():
    X, y = _synthetic(n=200, k=4)
    sigmoid = model_store.encode(_fitted("ridge", X, y, "sigmoid"))
    isotonic = model_store.encode(_fitted("ridge", X, y, "isotonic"))
    members = _members(sigmoid)
    ab = np.lib.format.read_array(io.BytesIO(members["sigmoid.npy"]))
    cases = [
        (  # an isotonic row relabelled sigmoid: its arrays are not a sigmoid's
            _rebuilt(_members(isotonic), lambda h: h.update(calibrator={"kind": "sigmoid"})),
            "not a ridge's with sigmoid calibration",
        ),
        (_rebuilt({**members, "sigmoid.npy": _npy(np.array([np.nan, 1.0]))}), "not finite"),
        (_rebuilt({**members, "sigmoid.npy": _npy(ab[:1])}), "array sigmoid is"),
        (
            _rebuilt(members, lambda h: h["calibrator"].update(a=1.0)),
            "holds more than its kind",
        ),
        (
            _rebuilt(members, lambda h: h.update(calibrator={"kind": "beta"})),
            "neither isotonic nor sigmoid",
        ),
    ]
    for data, reason in cases:
        with pytest.raises(model_store.ModelFormatError, match=reason):
            model_store.decode(data, model_store.FORMAT)


# --- tampering ---------------------------------------------------------------------------------


class _Marker:
    """A pickle that, if anything ever unpickled it, would create a file."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rebuilt(members: dict[str, bytes], header_edit=None) -> bytes:
    """The members archived again with every digest recomputed: only the checks of what the
    arrays and header say can refuse it."""
    header = json.loads(members["header.json"])
    for name in header["arrays"]:
        blob = members.get(f"{name}.npy")
        if blob is not None:
            header["arrays"][name]["sha256"] = hashlib.sha256(blob).hexdigest()
            stream = io.BytesIO(blob)
            np.lib.format.read_magic(stream)
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
            header["arrays"][name].update(shape=list(shape), dtype=dtype.str)
    if header_edit:
        header_edit(header)
    raw = json.dumps(header, sort_keys=True).encode()
    members = {**members, "header.json": raw, "header.sha256": hashlib.sha256(raw).hexdigest()}
    return model_store._archive(members)


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _tampered(data: bytes, how: str, marker) -> tuple[bytes, str]:
    members = _members(data)
    if how == "bytes changed":
        at = data.index(b"coef.npy") + 200
        return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :], "damaged"
    if how == "header changed":
        edited = members["header.json"].replace(b'"ridge"', b'"logistic"')
        return model_store._archive({**members, "header.json": edited}), "digest"
    if how == "kind changed, digests recomputed":
        return _rebuilt(members, lambda h: h.update(kind="logistic")), "not a logistic's"
    if how == "wrong shapes":
        coef = np.lib.format.read_array(io.BytesIO(members["coef.npy"]))
        return _rebuilt({**members, "coef.npy": _npy(coef[:, :-1])}), "array coef is"
    if how == "pickle instead of the archive":
        return pickle.dumps(_Marker(marker)), "are a pickle"
    if how == "pickled array in the archive":
        evil = np.array([_Marker(marker)], dtype=object)
        return _rebuilt({**members, "coef.npy": _npy(evil)}), "not a plain numpy array"
    raise AssertionError(how)


@pytest.fixture
def trained(cli, sample):
    assert cli("ingest", "labels", str(sample.labels)).code == 0
    assert cli("ingest", "features", str(sample.features)).code == 0
    assert cli("train", "--cv", "seed", "--bootstrap", "0").code == 0
    return 1


HOW = (
    "bytes changed",
    "header changed",
    "kind changed, digests recomputed",
    "wrong shapes",
    "pickle instead of the archive",
    "pickled array in the archive",
)


def test_a_tampered_model_is_refused_by_every_command_that_loads_it(
    trained, cli, pg, engine, tmp_path
):
    good = bytes(pg.execute("SELECT model FROM asmdb.model_runs WHERE run_id = 1").fetchone()[0])
    assert cli("runs", "show", "1").code == 0
    marker = tmp_path / "executed"
    cases = [(how, *_tampered(good, how, marker), "asmdb-model/1") for how in HOW]
    cases += [
        ("wrong format string", good, "asmdb reads asmdb-model/1", "asmdb-model/2"),
        (
            "pickle under the old format string",
            pickle.dumps(_Marker(marker)),
            "are a pickle",
            "joblib:asm_db.modeling.protocols.CalibratedClassifier",
        ),
    ]
    for how, data, reason, model_format in cases:
        pg.execute(
            "UPDATE asmdb.model_runs SET model = %s, model_format = %s WHERE run_id = 1",
            (data, model_format),
        )
        before = snapshot(pg)
        for command in (("runs", "show", "1"), ("runs", "show", "1", "--json")):
            result = cli(*command)
            assert result.code == 1, (how, result.stdout, result.stderr)
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and "Traceback" not in result.stderr, (how, result.stderr)
            assert lines[0].startswith("error: run 1: its stored model is refused"), lines
            assert reason in lines[0], (how, lines[0])
            assert result.stdout == ""
        with pytest.raises(ModelRefused, match="run 1"):
            load_model(engine, 1)
        assert not marker.exists(), how
        assert snapshot(pg) == before

    # The same bytes put back read again: the refusals were about the bytes, not the run.
    pg.execute(
        "UPDATE asmdb.model_runs SET model = %s, model_format = 'asmdb-model/1' WHERE run_id = 1",
        (good,),
    )
    assert cli("runs", "show", "1").code == 0


def test_a_byte_changed_in_sql_alone_is_refused(trained, cli, pg):
    pg.execute(
        "UPDATE asmdb.model_runs SET model = set_byte(model, length(model) - 10, "
        "get_byte(model, length(model) - 10) # 1) WHERE run_id = 1"
    )
    result = cli("runs", "show", "1")
    assert result.code == 1 and "run 1: its stored model is refused" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# --- migration 0008 ----------------------------------------------------------------------------


def _old_pickle(model: CalibratedClassifier, module: str, name: str) -> bytes:
    """The bytes the code of that time wrote: joblib's pickle of the model class at `module`."""
    old = types.ModuleType(module)
    cls = type(name, (CalibratedClassifier,), {"__module__": module, "__qualname__": name})
    setattr(old, name, cls)
    sys.modules[module] = old
    try:
        copy = cls(model.classifier, model.calibrator, model.feature_names)
        buffer = io.BytesIO()
        joblib.dump(copy, buffer)
        return buffer.getvalue()
    finally:
        del sys.modules[module]


def _tile_features(pg) -> np.ndarray:
    rows = pg.execute("SELECT features FROM asmdb.tile_features ORDER BY tile_id").fetchall()
    return np.stack([np.frombuffer(bytes(r[0]), dtype="<f4") for r in rows])


def test_migration_converts_old_pickles_of_every_kind_and_downgrades(engine, pg, sample, cli):
    from asm_db.ingest.features import ingest_features
    from asm_db.ingest.labels import ingest_labels
    from asm_db.runs.train import train_run

    ingest_labels(engine, sample.labels)
    ingest_features(engine, sample.features)
    fitted = {
        kind: train_run(engine, protocol=Protocol(cv="seed", model=kind, bootstrap=0))
        for kind in KINDS
    }
    X = _tile_features(pg)
    expected = {kind: r.fit.model.score(X) for kind, r in fitted.items()}
    stored_maps = pg.execute(
        "SELECT run_id, tile_id, score, probability FROM asmdb.predictions ORDER BY 1, 2"
    ).fetchall()

    # Down to 0007 (before the model store): the runs become joblib pickles that scikit-learn loads to the same scores.
    assert downgrade(engine, BEFORE_MODEL_STORE) == BEFORE_MODEL_STORE
    for kind, result in fitted.items():
        data, model_format = pg.execute(
            "SELECT model, model_format FROM asmdb.model_runs WHERE run_id = %s",
            (result.run_id,),
        ).fetchone()
        assert model_format == "joblib:asm_db.modeling.protocols.CalibratedClassifier"
        old = joblib.load(io.BytesIO(bytes(data)))
        assert np.allclose(old.score(X), expected[kind], rtol=0, atol=1e-12), kind

    # Rows as each earlier version of asmdb wrote them, under the class paths of that time.
    paths = [
        ("asm_db.model", "CalibratedRidge"),
        ("asm_db.model", "CalibratedClassifier"),
        ("asm_db.modeling.protocols", "CalibratedClassifier"),
        ("asm_db.model", "CalibratedClassifier"),
    ]
    for result, (module, name) in zip(fitted.values(), paths, strict=True):
        if module == "asm_db.modeling.protocols":
            data = io.BytesIO()
            joblib.dump(result.fit.model, data)
            data = data.getvalue()
        else:
            data = _old_pickle(result.fit.model, module, name)
        pg.execute(
            "UPDATE asmdb.model_runs SET model = %s, model_format = %s WHERE run_id = %s",
            (data, f"joblib:{module}.{name}", result.run_id),
        )

    assert cli("db", "upgrade").code == 0
    assert pg.execute("SELECT version_num FROM public.asmdb_version").fetchone()[0] == (
        head_revision()
    )
    formats = pg.execute("SELECT DISTINCT model_format FROM asmdb.model_runs").fetchall()
    assert formats == [("asmdb-model/1",)]
    for kind, result in fitted.items():
        show = cli("runs", "show", str(result.run_id))
        assert show.code == 0 and f"asmdb-model/1, {kind}, 256 features" in show.stdout
        model = load_model(engine, result.run_id)
        scores = model.score(X)
        assert np.allclose(scores, expected[kind], rtol=0, atol=1e-12), kind
        if kind != "random-forest":  # the forest's own threads add trees in any order
            assert np.array_equal(scores, expected[kind]), kind
        assert np.array_equal(model.probability(scores), result.fit.model.probability(scores))
        assert model.feature_names == result.fit.model.feature_names
    # The maps are untouched, and the loaded models reproduce them.
    assert (
        pg.execute(
            "SELECT run_id, tile_id, score, probability FROM asmdb.predictions ORDER BY 1, 2"
        ).fetchall()
        == stored_maps
    )


def test_migration_refuses_a_pickle_that_would_run_code(engine, pg, sample, cli, tmp_path):
    from asm_db.ingest.features import ingest_features
    from asm_db.ingest.labels import ingest_labels
    from asm_db.runs.train import train_run

    ingest_labels(engine, sample.labels)
    ingest_features(engine, sample.features)
    run = train_run(engine, protocol=Protocol(cv="seed", bootstrap=0))
    assert downgrade(engine, BEFORE_MODEL_STORE) == BEFORE_MODEL_STORE
    marker = tmp_path / "executed"
    for data, model_format, reason in (
        (
            pickle.dumps(_Marker(marker)),
            "joblib:asm_db.model.CalibratedClassifier",
            "which a model pickle never does",
        ),
        (
            pickle.dumps(_Marker(marker)),
            "pickle:something.Else",
            "model_format 'pickle:something.Else' is not one asmdb wrote",
        ),
        (b"\x80\x04not a pickle", "joblib:asm_db.model.CalibratedRidge", "not a readable"),
    ):
        pg.execute(
            "UPDATE asmdb.model_runs SET model = %s, model_format = %s WHERE run_id = %s",
            (data, model_format, run.run_id),
        )
        before = snapshot(pg)
        result = cli("db", "upgrade")
        assert result.code == 1, result.stdout
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and f"run {run.run_id}:" in lines[0] and reason in lines[0], lines
        assert not marker.exists()
        assert snapshot(pg) == before
        assert (
            pg.execute("SELECT version_num FROM public.asmdb_version").fetchone()[0]
            == BEFORE_MODEL_STORE
        )


def test_the_restricted_unpickler_refuses_names_outside_its_list():
    for payload in (
        pickle.dumps(_Marker("/nonexistent")),
        pickle.dumps(np.array([{"a": 1}], dtype=object)),  # numpy's reconstructor, then a dict
        pickle.dumps(types.SimpleNamespace()),
    ):
        with pytest.raises(legacy_pickle.LegacyPickleRefused):
            legacy_pickle.load_legacy_model(payload)
    # A joblib object array would be a nested, unrestricted pickle: refused before reading it.
    buffer = io.BytesIO()
    joblib.dump({"x": np.array([1, "a"], dtype=object)}, buffer)
    with pytest.raises(legacy_pickle.LegacyPickleRefused):
        legacy_pickle.load_legacy_model(buffer.getvalue())


def test_a_sigmoid_run_downgrades_to_a_pickle_and_comes_back(engine, pg, sample, cli):
    from asm_db.ingest.features import ingest_features
    from asm_db.ingest.labels import ingest_labels
    from asm_db.runs.train import train_run

    ingest_labels(engine, sample.labels)
    ingest_features(engine, sample.features)
    run = train_run(engine, protocol=Protocol(cv="seed", bootstrap=0, calibration="sigmoid"))
    before = bytes(
        pg.execute(
            "SELECT model FROM asmdb.model_runs WHERE run_id = %s", (run.run_id,)
        ).fetchone()[0]
    )
    X = _tile_features(pg)
    expected = run.fit.model.probability(run.fit.model.score(X))
    assert downgrade(engine, BEFORE_MODEL_STORE) == BEFORE_MODEL_STORE
    data = pg.execute("SELECT model FROM asmdb.model_runs WHERE run_id = %s", (run.run_id,))
    old = joblib.load(io.BytesIO(bytes(data.fetchone()[0])))  # what the code of 0007 reads
    assert np.array_equal(old.probability(old.score(X)), expected)
    assert cli("db", "upgrade").code == 0
    model = load_model(engine, run.run_id)
    assert model.calibration == "sigmoid"
    assert np.array_equal(model.probability(model.score(X)), expected)
    after = pg.execute("SELECT model FROM asmdb.model_runs WHERE run_id = %s", (run.run_id,))
    assert bytes(after.fetchone()[0]) == before
