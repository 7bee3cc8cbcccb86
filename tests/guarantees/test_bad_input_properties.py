"""Malformed files, generated: each is either rejected with one line naming the file (and where
it can, the row and column), leaving the database exactly as it was, or accepted and stored
exactly as written. Never another exception (the command line would show a traceback)."""

from __future__ import annotations

import io
import math
import os

import numpy as np
import pandas as pd
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asm_db.db.engine import create_engine
from asm_db.errors import InputError
from asm_db.ingest.features import ingest_features
from asm_db.ingest.labels import ingest_labels

from conftest import snapshot, throwaway_db

# Deterministic in CI (the same examples each run); ASMDB_HYPOTHESIS_EXAMPLES=2000 explores more.
SETTINGS = settings(
    max_examples=int(os.environ.get("ASMDB_HYPOTHESIS_EXAMPLES", "150")),
    derandomize="ASMDB_HYPOTHESIS_EXAMPLES" not in os.environ,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

CELL_VALUES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "nan", "NaN", "inf", "-inf", "1e400", "-1e39", "9" * 40, "0x1F", "1,5"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
)


@pytest.fixture(scope="module")
def database(template_db):
    with throwaway_db(template_db) as url:
        engine = create_engine(url)
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as pg:
            yield engine, pg
        engine.dispose()


@st.composite
def mutated_csv(draw, base: pd.DataFrame, protected: tuple[str, ...] = ()) -> bytes:
    """A CSV of `base` with one to three things wrong (or, sometimes, nothing wrong)."""
    frame = base.astype(str).copy()
    columns = list(frame.columns)
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(
            st.sampled_from(["drop", "rename", "duplicate", "cell", "swap", "extra", "blank_row"])
        )
        if kind == "drop" and len(columns) > 1:
            columns.remove(draw(st.sampled_from(columns)))
        elif kind == "rename":
            old = draw(st.sampled_from(columns))
            new = draw(
                st.text(min_size=1, max_size=8).filter(
                    lambda n, taken=tuple(columns): n not in taken
                )
            )
            frame = frame.rename(columns={old: new})
            columns = [new if c == old else c for c in columns]
        elif kind == "duplicate":
            columns.append(draw(st.sampled_from(columns)))
        elif kind == "cell":
            row = draw(st.integers(0, len(frame) - 1))
            column = draw(st.sampled_from([c for c in columns if c not in protected] or columns))
            frame.loc[row, column] = draw(CELL_VALUES)
        elif kind == "swap" and {"lon", "lat"} <= set(columns):
            frame[["lon", "lat"]] = frame[["lat", "lon"]].to_numpy()
        elif kind == "extra":
            name = draw(
                st.text(min_size=1, max_size=8).filter(
                    lambda n, taken=tuple(columns): n not in taken
                )
            )
            frame[name] = draw(CELL_VALUES)
            columns.append(name)
        elif kind == "blank_row":
            frame.loc[len(frame)] = [""] * len(frame.columns)
    buffer = io.StringIO()
    frame[columns].to_csv(buffer, index=False)
    data = buffer.getvalue().encode("utf-8")
    ending = draw(st.sampled_from(["as is", "empty", "header only", "bad bytes"]))
    if ending == "empty":
        return b""
    if ending == "header only":
        return data.split(b"\n", 1)[0] + b"\n"
    if ending == "bad bytes":
        at = draw(st.integers(0, len(data)))
        return data[:at] + b"\xff\xfe\x80" + data[at:]
    return data


def _one_line_naming(error: InputError, path) -> None:
    message = str(error)
    assert message.startswith(str(path)), message
    assert "\n" not in message and "Traceback" not in message


def _labels_base(sample) -> pd.DataFrame:
    return pd.read_csv(sample.labels, dtype=str, keep_default_na=False).head(6)


@pytest.mark.slow
@given(data=st.data())
@SETTINGS
def test_generated_label_files(database, sample, tmp_path_factory, data):
    engine, pg = database
    base = _labels_base(sample)
    content = data.draw(mutated_csv(base, protected=("unique_id",)))
    path = tmp_path_factory.mktemp("labels") / "labels.csv"
    path.write_bytes(content)
    before = snapshot(pg)
    try:
        ingest_labels(engine, path)
    except InputError as error:
        _one_line_naming(error, path)
        assert snapshot(pg) == before
        return
    # Accepted: every row is stored as written.
    written = pd.read_csv(path, dtype=str, keep_default_na=False)
    for row in written.to_dict("records"):
        stored = pg.execute(
            "SELECT lon, lat, label, confidence FROM asmdb.labels WHERE unique_id = %s",
            (row["unique_id"],),
        ).fetchone()
        assert stored is not None, row
        assert stored[0] == pytest.approx(float(row["lon"]))
        assert stored[1] == pytest.approx(float(row["lat"]))
        assert stored[2] == int(float(row["label"]))
        if row["confidence"] != "":
            assert stored[3] == pytest.approx(float(row["confidence"]))


def _features_base(n_features: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    lat = np.round(8.405 + 0.01 * np.arange(6), 3)
    return pd.DataFrame(
        {"lat": lat, "lon": np.round(-11.195 + 0.01 * np.arange(6), 3)}
        | {f"feature_{i}": rng.random(6).astype(np.float32) for i in range(n_features)}
    )


@pytest.mark.slow
@given(data=st.data(), layout=st.sampled_from(["lat/lon", "image_id"]))
@SETTINGS
def test_generated_feature_files(database, tmp_path_factory, data, layout):
    engine, pg = database
    base = _features_base()
    if layout == "image_id":
        ids = [
            f"lat_{a:.3f}__lon_{o:.3f}".replace(".", "--")
            for a, o in zip(base["lat"], base["lon"], strict=True)
        ]
        base = pd.concat(
            [pd.DataFrame({"image_id": ids}), base.drop(columns=["lat", "lon"])], axis=1
        )
    content = data.draw(mutated_csv(base))
    path = tmp_path_factory.mktemp("features") / "features.csv"
    path.write_bytes(content)
    before = snapshot(pg)
    try:
        ingest_features(engine, path, batch_rows=data.draw(st.integers(1, 8)))
    except InputError as error:
        _one_line_naming(error, path)
        assert snapshot(pg) == before
        return
    # Accepted: each row's vector is stored (as float32) on the tile of its centre.
    # Columns other than the coordinates and features are not stored, whatever they hold.
    written = pd.read_csv(path, encoding_errors="replace")
    # Vectors are stored in feature number order, whatever the file's column order.
    names = sorted(
        (c for c in written.columns if c.startswith("feature_")), key=lambda c: int(c[8:])
    )
    for row in written.to_dict("records"):
        if "image_id" in row:
            stored = pg.execute(
                "SELECT f.features FROM asmdb.tiles t JOIN asmdb.tile_features f USING (tile_id) "
                "WHERE t.image_id = %s",
                (row["image_id"],),
            ).fetchone()
        else:
            stored = pg.execute(
                "SELECT f.features FROM asmdb.tile_features f "
                "WHERE f.tile_id = asmdb.tile_id(%s, %s)",
                (float(row["lat"]), float(row["lon"])),
            ).fetchone()
        assert stored is not None, row
        expected = [float(np.float32(row[n])) for n in names]
        assert all(
            math.isclose(a, b, rel_tol=1e-6)
            for a, b in zip(np.frombuffer(stored[0], "<f4").tolist(), expected, strict=True)
        )
