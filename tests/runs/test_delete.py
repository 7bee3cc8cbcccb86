"""`asmdb runs delete` (asm_db.runs.delete): a run goes with its maps and their partitions, and
answered reviews stay unless told."""

import pytest

from conftest import prediction_partitions, snapshot


@pytest.mark.slow
def test_runs_delete_takes_its_maps_and_partitions(trained, cli, pg):
    second = cli("train", "--cv", "seed", "--bootstrap", "0", "--no-promote")
    assert second.code == 0, second.stderr
    assert cli("predict", "--run", "2", "--feature-set", "default", "--no-promote").code == 0
    maps = pg.execute("SELECT map_id FROM asmdb.maps WHERE run_id = 2").fetchall()
    assert len(maps) == 2
    before = snapshot(pg)
    partitions = prediction_partitions(pg)

    refused = cli("runs", "delete", "2")  # not a terminal: asks for --yes
    assert refused.code == 1 and "add --yes" in refused.stderr and "2 map(s)" in refused.stderr
    assert snapshot(pg) == before and prediction_partitions(pg) == partitions

    done = cli("runs", "delete", "2", "--yes")
    assert done.code == 0, done.stderr
    assert "deleted run 2, 2 map(s), 0 review row(s)" in done.stdout
    assert pg.execute("SELECT count(*) FROM asmdb.model_runs WHERE run_id = 2").fetchone()[0] == 0
    assert pg.execute("SELECT count(*) FROM asmdb.maps WHERE run_id = 2").fetchone()[0] == 0
    assert pg.execute("SELECT count(*) FROM asmdb.predictions WHERE run_id = 2").fetchone()[0] == 0
    assert len(partitions - prediction_partitions(pg)) == 2
    # run 1's map is still the one shown
    assert pg.execute("SELECT DISTINCT run_id FROM asmdb.latest_predictions").fetchall() == [(1,)]
    assert cli("runs", "delete", "2", "--yes").code == 1


def test_runs_delete_keeps_answered_reviews_unless_told(trained, cli, pg):
    queued = cli("review", "queue")
    assert queued.code == 0, queued.stderr
    rows = pg.execute("SELECT count(*) FROM asmdb.review_queue").fetchone()[0]
    assert rows > 1
    pg.execute(
        "UPDATE asmdb.review_queue SET status = 'confirmed', reviewer = 'ana', "
        "reviewed_at = now() WHERE review_id = (SELECT min(review_id) FROM asmdb.review_queue)"
    )
    before = snapshot(pg)
    refused = cli("runs", "delete", "1", "--yes")
    assert refused.code == 1 and "1 answered review(s)" in refused.stderr
    assert "--with-reviews" in refused.stderr and snapshot(pg) == before
    done = cli("runs", "delete", "1", "--yes", "--with-reviews")
    assert done.code == 0, done.stderr
    assert f"{rows} review row(s)" in done.stdout
    assert pg.execute("SELECT count(*) FROM asmdb.review_queue").fetchone()[0] == 0
    assert pg.execute("SELECT count(*) FROM asmdb.latest_predictions").fetchone()[0] == 0
    assert prediction_partitions(pg) == set()
