"""Reviews come back in one set-based statement: staged with COPY, applied with one UPDATE."""

from __future__ import annotations

import pytest

from asm_db.errors import InputError
from asm_db.ingest.features import ingest_features
from asm_db.ingest.labels import ingest_labels
from asm_db.modeling.options import Protocol
from asm_db.review.queue import import_reviews, make_queue
from asm_db.runs.train import train_run


@pytest.fixture
def queued(engine, pg, sample):
    ingest_labels(engine, sample.labels)
    ingest_features(engine, sample.features)
    train_run(engine, protocol=Protocol(cv="seed", bootstrap=0))
    make_queue(engine, hotspots=0, uncertain=0, per_stratum=5)
    return [r[0] for r in pg.execute("SELECT review_id FROM asmdb.review_queue ORDER BY 1")]


def _reviews(pg) -> list[tuple]:
    return pg.execute(
        "SELECT review_id, status, reviewer, notes, reviewed_at IS NOT NULL "
        "FROM asmdb.review_queue ORDER BY 1"
    ).fetchall()


def test_every_row_applied_and_a_repeated_id_takes_its_last_row(engine, pg, queued, tmp_path):
    first, second, *rest = queued
    path = tmp_path / "reviews.csv"
    lines = ["review_id,status,reviewer,notes", f"{first},confirmed,ana,first try"]
    lines += [f"{second},rejected,,"] + [f"{r},unclear,bo,look again" for r in rest]
    lines += [f"{first},rejected,ana,second look"]
    path.write_text("\n".join(lines) + "\n")
    result = import_reviews(engine, path)
    assert result.updated == len(queued) + 1
    rows = {r[0]: r[1:] for r in _reviews(pg)}
    assert rows[first] == ("rejected", "ana", "second look", True)
    assert rows[second] == ("rejected", None, None, True)
    assert {rows[r] for r in rest} == {("unclear", "bo", "look again", True)}


def test_unknown_review_ids_name_their_rows_and_change_nothing(engine, pg, queued, tmp_path):
    before = _reviews(pg)
    path = tmp_path / "reviews.csv"
    path.write_text(
        f"review_id,status\n{queued[0]},confirmed\n999999,rejected\n88888888888,rejected\n"
    )
    with pytest.raises(InputError) as raised:
        import_reviews(engine, path)
    assert raised.value.rows == [2, 3] and raised.value.column == "review_id"
    assert _reviews(pg) == before


def test_a_review_file_for_other_tiles_or_runs_is_refused_row_by_row(engine, pg, queued, tmp_path):
    from asm_db.review.queue import export_queue

    rows = pg.execute(
        "SELECT review_id, tile_id, run_id FROM asmdb.review_queue ORDER BY 1"
    ).fetchall()
    before = _reviews(pg)
    labels = pg.execute("SELECT count(*) FROM asmdb.labels").fetchone()[0]
    # A file from another database: the same review_ids name other tiles there.
    path = tmp_path / "other.csv"
    lines = ["review_id,status,tile_id,run_id"]
    lines += [f"{r},confirmed,{t},{run}" for r, t, run in rows[:2]]
    lines += [f"{rows[2][0]},confirmed,{rows[2][1] + 1},{rows[2][2]}"]
    lines += [f"{rows[3][0]},confirmed,{rows[3][1]},{rows[3][2] + 7}"]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as raised:
        import_reviews(engine, path)
    assert raised.value.rows == [3, 4]
    assert "another tile or run" in str(raised.value)
    assert _reviews(pg) == before
    assert pg.execute("SELECT count(*) FROM asmdb.labels").fetchone()[0] == labels

    # The file `review export` writes carries both keys and comes back whole.
    exported = tmp_path / "queue.gpkg"
    export_queue(engine, exported)
    result = import_reviews(engine, exported)
    assert result.updated == len(rows)
