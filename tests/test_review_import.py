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
