"""Reviews come back in one set-based statement: staged with COPY, applied with one UPDATE."""

from __future__ import annotations

import pytest

from asm_db.errors import InputError
from asm_db.review.options import MAX_NOTES, MAX_REVIEWER
from asm_db.review.queue import import_reviews, make_queue


@pytest.fixture
def queued(trained, pg):
    """The review ids of a queue of the trained sample's run (the `trained` template's)."""
    make_queue(trained, hotspots=0, uncertain=0, per_stratum=5)
    return [r[0] for r in pg.execute("SELECT review_id FROM asmdb.review_queue ORDER BY 1")]


def _reviews(pg) -> list[tuple]:
    return pg.execute(
        "SELECT review_id, status, reviewer, notes, reviewed_at IS NOT NULL "
        "FROM asmdb.review_queue ORDER BY 1"
    ).fetchall()


def test_every_row_is_applied(engine, pg, queued, tmp_path):
    first, second, *rest = queued
    path = tmp_path / "reviews.csv"
    lines = ["review_id,status,reviewer,notes", f"{first},rejected,ana,second look"]
    lines += [f"{second},rejected,,"] + [f"{r},unclear,bo,look again" for r in rest]
    path.write_text("\n".join(lines) + "\n")
    result = import_reviews(engine, path)
    assert (result.rows, result.changed) == (len(queued), len(queued))
    rows = {r[0]: r[1:] for r in _reviews(pg)}
    assert rows[first] == ("rejected", "ana", "second look", True)
    assert rows[second] == ("rejected", None, None, True)
    assert {rows[r] for r in rest} == {("unclear", "bo", "look again", True)}


def test_a_review_id_given_twice_is_refused_naming_both_rows(cli, pg, queued, tmp_path):
    first, second = queued[:2]
    before = _reviews(pg)
    path = tmp_path / "reviews.csv"
    path.write_text(
        f"review_id,status,reviewer\n{first},confirmed,ana\n{second},rejected,ana\n"
        f"{first},rejected,bo\n"
    )
    done = cli("review", "import", str(path))
    assert done.code == 1 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path} (rows 1, 3, column 'review_id')")
    assert f"review_id {first} is given more than once" in lines[0]
    assert _reviews(pg) == before


@pytest.mark.parametrize("column", ["notes", "reviewer"])
def test_a_nul_character_in_a_text_column_is_one_line_and_changes_nothing(
    cli, pg, queued, tmp_path, column
):
    before = _reviews(pg)
    path = tmp_path / "reviews.csv"
    path.write_bytes(
        f"review_id,status,{column}\n{queued[0]},confirmed,fine\n{queued[1]},rejected,a\0b\n".encode()
    )
    done = cli("review", "import", str(path))
    assert done.code == 1 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path} (row 2, column '{column}')")
    assert "NUL" in lines[0]
    assert _reviews(pg) == before


@pytest.mark.parametrize(("column", "longest"), [("notes", MAX_NOTES), ("reviewer", MAX_REVIEWER)])
def test_text_longer_than_the_web_page_takes_is_refused(cli, pg, queued, tmp_path, column, longest):
    before = _reviews(pg)
    path = tmp_path / "reviews.csv"
    path.write_text(
        f"review_id,status,{column}\n{queued[0]},confirmed,{'x' * longest}\n"
        f"{queued[1]},rejected,{'x' * (longest + 1)}\n"
    )
    done = cli("review", "import", str(path))
    assert done.code == 1 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path} (row 2, column '{column}')")
    assert f"longer than {longest:,} characters" in lines[0]
    assert _reviews(pg) == before
    # At the limit, it is taken whole.
    path.write_text(f"review_id,status,{column}\n{queued[0]},confirmed,{'x' * longest}\n")
    assert cli("review", "import", str(path)).code == 0
    stored = {r[0]: r for r in _reviews(pg)}[queued[0]]
    assert stored[2 if column == "reviewer" else 3] == "x" * longest


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
    assert (result.rows, result.changed) == (len(rows), 0)


def _waiting_sessions(pg, blocker_pid: int) -> int:
    """How many sessions of this test's database, other than the blocker, wait for a lock
    (other tests run beside this one on other databases)."""
    return pg.execute(
        "SELECT count(DISTINCT l.pid) FROM pg_locks AS l JOIN pg_stat_activity AS a "
        "ON a.pid = l.pid WHERE NOT l.granted AND l.pid <> %s AND a.datname = current_database()",
        (blocker_pid,),
    ).fetchone()[0]


@pytest.mark.slow
@pytest.mark.parametrize("shared", [1 / 3, 0], ids=["overlapping", "disjoint"])
def test_two_review_imports_at_once_both_finish_and_the_last_one_wins(
    db_url, engine, pg, trained, tmp_path, shared
):
    """Two `asmdb review import --replace`s of files sharing a part of their review_ids (or
    none), run as two processes whose transactions are held open side by side: neither
    deadlocks nor hangs, both succeed, and the second's values are final where the files
    overlap."""
    import os
    import subprocess
    import time

    import psycopg

    from tests.conftest import ASMDB

    make_queue(engine, hotspots=0, uncertain=0, per_stratum=4)
    ids = [r[0] for r in pg.execute("SELECT review_id FROM asmdb.review_queue ORDER BY 1")]
    n = len(ids)
    assert n >= 6
    # Every tile reviewed once already, so each import re-writes every review label.
    first = tmp_path / "first.csv"
    first.write_text("review_id,status\n" + "".join(f"{r},confirmed\n" for r in ids))
    assert import_reviews(engine, first).changed == n
    files = {
        "ana": (ids[: round(n * (1 + shared) / 2)], "rejected"),
        "bo": (ids[round(n * (1 - shared) / 2) :], "confirmed"),
    }
    paths = {}
    for reviewer, (rows, status) in files.items():
        paths[reviewer] = tmp_path / f"{reviewer}.csv"
        paths[reviewer].write_text(
            "review_id,status,reviewer,notes\n"
            + "".join(f"{r},{status},{reviewer},from {reviewer}\n" for r in reversed(rows))
        )
    env = {**os.environ, "ASMDB_DATABASE_URL": db_url, "ASMDB_LOCK_TIMEOUT": "120"}
    # A third session keeps writers out of the labels table until both imports are under way,
    # so their transactions overlap whatever each one's start-up time.
    with psycopg.connect(db_url.replace("+psycopg", "")) as blocker:
        blocker.execute("LOCK TABLE asmdb.labels IN SHARE MODE")
        procs = {
            reviewer: subprocess.Popen(
                [str(ASMDB), "review", "import", "--replace", str(path)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for reviewer, path in paths.items()
        }
        deadline = time.monotonic() + 120
        while _waiting_sessions(pg, blocker.info.backend_pid) < 2:
            assert time.monotonic() < deadline, "the two imports never both started"
            assert all(p.poll() is None for p in procs.values())
            time.sleep(0.2)
    done = {}
    try:
        for reviewer, proc in procs.items():
            out, err = proc.communicate(timeout=120)
            done[reviewer] = (proc.returncode, out, err)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    for reviewer, (code, _, err) in done.items():
        assert code == 0, f"{reviewer}: {err[-2000:]}"
        assert "Traceback" not in err
    # One import waited for the other and said so; its values are final where they overlap.
    waited = [r for r, (_, _, err) in done.items() if "waiting for another" in err]
    assert len(waited) == 1, {r: err for r, (_, _, err) in done.items()}
    last = waited[0]
    rows = {
        r[0]: r[1:]
        for r in pg.execute("SELECT review_id, status, reviewer, notes FROM asmdb.review_queue")
    }
    for reviewer, (chosen, status) in files.items():
        for review_id in chosen:
            if review_id in files[last][0]:
                want_status, want_by = files[last][1], last
            else:
                want_status, want_by = status, reviewer
            assert rows[review_id] == (want_status, want_by, f"from {want_by}"), review_id
    # Each reviewed tile's label says what its review says, and the queue row points at it,
    # but where a field label contradicts the review (the last import lists those).
    contradicted = [
        int(line.split()[2]) for line in done[last][1].splitlines() if line.startswith("contra")
    ]
    mismatched = pg.execute(
        "SELECT q.review_id FROM asmdb.review_queue AS q "
        "LEFT JOIN asmdb.labels AS l ON l.unique_id = 'review-' || q.tile_id "
        "WHERE NOT q.review_id = ANY(%s) AND (l.label_id IS DISTINCT FROM q.label_id "
        "   OR l.label IS DISTINCT FROM CASE q.status WHEN 'confirmed' THEN 1 ELSE 0 END)",
        (contradicted,),
    ).fetchall()
    assert mismatched == []


@pytest.mark.slow
def test_export_writes_the_promoted_runs_queue_or_the_one_asked_for(cli, pg, trained, tmp_path):
    import pyogrio

    assert cli("train", "--cv", "seed", "--bootstrap", "0").code == 0  # run 2, promoted
    for run in ("1", "2"):
        assert cli("review", "queue", "--run", run, "--per-stratum", "3").code == 0
    per_run = dict(
        pg.execute("SELECT run_id, count(*) FROM asmdb.review_queue GROUP BY 1").fetchall()
    )
    assert set(per_run) == {1, 2}
    promoted = pg.execute(
        "SELECT m.run_id FROM asmdb.maps AS m WHERE m.map_id = asmdb.promoted_map()"
    ).fetchone()
    assert promoted == (2,)
    for args, run in (((), 2), (("--run", "1"), 1)):
        out = tmp_path / f"queue{run}.gpkg"
        done = cli("review", "export", str(out), *args)
        assert done.code == 0, done.stderr
        frame = pyogrio.read_dataframe(out, layer="review_queue", read_geometry=False)
        assert set(frame["run_id"]) == {run} and len(frame) == per_run[run]
        assert f"{per_run[run]} tiles to review" in done.stdout
    # A run with no queue: said so, no file.
    pg.execute("DELETE FROM asmdb.review_queue WHERE run_id = 1")
    empty = tmp_path / "empty.gpkg"
    refused = cli("review", "export", str(empty), "--run", "1")
    assert refused.code == 1 and "run 1 has no review queue" in refused.stderr
    assert not empty.exists()


def test_status_in_any_case_is_taken_trimmed_and_stored_lower_case(engine, pg, queued, tmp_path):
    first, second, third, *_ = queued
    path = tmp_path / "reviews.csv"
    path.write_text(f"review_id,status\n{first},Confirmed\n{second}, REJECTED \n{third},Unclear\n")
    import_reviews(engine, path)
    rows = {r[0]: r[1] for r in _reviews(pg)}
    assert (rows[first], rows[second], rows[third]) == ("confirmed", "rejected", "unclear")


@pytest.mark.parametrize("when", ["25/11/2026", "11/12/2026"])
def test_a_reviewed_at_not_in_iso_8601_is_one_line_naming_the_form(cli, pg, queued, tmp_path, when):
    before = _reviews(pg)
    path = tmp_path / "reviews.csv"
    path.write_text(
        f"review_id,status,reviewed_at\n{queued[0]},confirmed,2026-11-25\n"
        f"{queued[1]},rejected,{when}\n"
    )
    result = cli("review", "import", str(path))
    assert result.code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith(f"error: {path} (row 2, column 'reviewed_at'): ")
    assert "ISO 8601" in lines[0] and "2026-11-25" in lines[0]
    assert _reviews(pg) == before


def test_a_missing_column_lists_the_columns_found(engine, pg, queued, tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text(f"id,Status,notes\n{queued[0]},confirmed,\n")
    with pytest.raises(InputError) as raised:
        import_reviews(engine, path)
    assert raised.value.column == "review_id"
    assert "columns found: id, Status, notes" in str(raised.value)


def test_a_geopackage_saved_under_another_layer_name_is_read(engine, pg, queued, tmp_path):
    import pyogrio

    from asm_db.review.queue import export_queue

    exported = tmp_path / "queue.gpkg"
    export_queue(engine, exported)
    frame = pyogrio.read_dataframe(exported, layer="review_queue")
    frame["status"] = "Confirmed"
    frame["reviewer"] = "ana"
    # QGIS "Save Features As" under a name of one's own: one layer, any name.
    saved = tmp_path / "my reviews.gpkg"
    pyogrio.write_dataframe(frame, saved, layer="reviews ana")
    result = import_reviews(engine, saved)
    assert result.changed == len(queued)
    assert {r[1:3] for r in _reviews(pg)} == {("confirmed", "ana")}
    # Several layers, none named review_queue: refused, naming them; nothing changes.
    pyogrio.write_dataframe(frame.assign(status="rejected"), saved, layer="other", append=False)
    before = _reviews(pg)
    with pytest.raises(InputError, match="2 layers \\(reviews ana, other\\)"):
        import_reviews(engine, saved)
    assert _reviews(pg) == before
    # With a review_queue layer among them, that one is read.
    pyogrio.write_dataframe(frame.assign(status="rejected"), saved, layer="review_queue")
    import_reviews(engine, saved)
    assert {r[1] for r in _reviews(pg)} == {"rejected"}


def _free(pg) -> list[int]:
    """Review rows on tiles without a label: no contradiction in the way."""
    return [
        r[0]
        for r in pg.execute(
            "SELECT q.review_id FROM asmdb.review_queue AS q WHERE NOT EXISTS ("
            "SELECT 1 FROM asmdb.labels AS l WHERE ST_Intersects(l.geom, q.geom)) ORDER BY 1"
        )
    ]


@pytest.mark.slow
def test_an_import_reports_what_it_changed_only(cli, pg, queued, tmp_path):
    free = _free(pg)
    assert len(free) >= 4

    def run(name: str, lines: list[str], *options: str) -> str:
        path = tmp_path / name
        path.write_text("review_id,status\n" + "".join(f"{x}\n" for x in lines))
        result = cli("review", "import", *options, str(path))
        assert result.code == 0, result.stderr
        return result.stdout.splitlines()[0].removeprefix(f"{path}: ")

    assert run("three.csv", [f"{r},confirmed" for r in free[:3]]) == (
        "3 rows, 3 reviews changed; labels 3 new, 0 updated"
    )
    assert run("one.csv", [f"{free[3]},confirmed"]) == (
        "1 row, 1 review changed; labels 1 new, 0 updated"
    )
    assert run("one.csv", [f"{free[3]},confirmed"]) == (
        "1 row, 0 reviews changed; labels 0 new, 0 updated"
    )
    assert run("flip.csv", [f"{free[0]},rejected"], "--replace") == (
        "1 row, 1 review changed; labels 0 new, 1 updated"
    )
    # Every answered row points at its tile's label, which says what the review says.
    rows = pg.execute(
        "SELECT q.status, l.label FROM asmdb.review_queue AS q "
        "JOIN asmdb.labels AS l ON l.label_id = q.label_id WHERE q.review_id = ANY(%s) "
        "ORDER BY q.review_id",
        (free[:4],),
    ).fetchall()
    assert rows == [("rejected", 0), ("confirmed", 1), ("confirmed", 1), ("confirmed", 1)]
    labels = cli("review", "labels")
    assert labels.code == 0 and "labels from reviews: 0 new, 0 updated" in labels.stdout


def _review_labels(pg) -> dict[str, tuple]:
    return {
        r[0]: r[1:]
        for r in pg.execute(
            "SELECT unique_id, label, extra->>'reviewer' FROM asmdb.labels "
            "WHERE source_file = 'review'"
        )
    }


@pytest.mark.slow
def test_another_reviewers_answer_is_replaced_only_with_replace_and_its_label_follows(
    cli, pg, queued, tmp_path
):
    first, second = _free(pg)[:2]
    tiles = dict(pg.execute("SELECT review_id, tile_id FROM asmdb.review_queue").fetchall())

    def answer(name: str, lines: list[str], *options: str):
        path = tmp_path / name
        path.write_text("review_id,status,reviewer\n" + "".join(f"{x}\n" for x in lines))
        return path, cli("review", "import", *options, str(path))

    assert answer("ana.csv", [f"{first},confirmed,ana", f"{second},confirmed,ana"])[1].code == 0
    before, labels = _reviews(pg), _review_labels(pg)
    assert labels == {f"review-{tiles[r]}": (1, "ana") for r in (first, second)}
    # Another reviewer's file, and one naming no reviewer, are refused whole: one line, the
    # rows and whose answers they are; nothing changes.
    for name, who in (("bo.csv", "bo"), ("unnamed.csv", "")):
        rows = [f"{queued[-1]},rejected,{who}", f"{first},rejected,{who}"]
        path, done = answer(name, rows + [f"{second},unclear,{who}"])
        assert done.code == 1 and "Traceback" not in done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"error: {path} (rows 2, 3, column 'reviewer')")
        assert "answers given by ana" in lines[0] and "--replace" in lines[0]
        assert _reviews(pg) == before and _review_labels(pg) == labels
    # Ana changes her own answer without --replace; the label follows.
    assert answer("ana2.csv", [f"{first},rejected,ana"])[1].code == 0
    assert _review_labels(pg)[f"review-{tiles[first]}"] == (0, "ana")
    # With --replace, bo's answers land and the labels made from ana's follow them: updated
    # where bo confirms or rejects, removed where bo is unclear.
    path, done = answer("bo.csv", [f"{first},confirmed,bo", f"{second},unclear,bo"], "--replace")
    assert done.code == 0, done.stderr
    assert done.stdout.splitlines()[0] == (
        f"{path}: 2 rows, 2 reviews changed; labels 0 new, 1 updated, 1 removed"
    )
    assert _review_labels(pg) == {f"review-{tiles[first]}": (1, "bo")}
    # Labels agree with the answers: each confirmed or rejected map review points at its
    # tile's review label, which says the same; no other row points at a label.
    mismatched = pg.execute(
        "SELECT q.review_id FROM asmdb.review_queue AS q "
        "LEFT JOIN asmdb.labels AS l ON l.label_id = q.label_id "
        "WHERE CASE WHEN q.status IN ('confirmed', 'rejected') "
        "  THEN l.label IS DISTINCT FROM CASE q.status WHEN 'confirmed' THEN 1 ELSE 0 END "
        "  ELSE q.label_id IS NOT NULL END"
    ).fetchall()
    assert mismatched == []
    again = cli("review", "labels")
    assert again.code == 0 and "labels from reviews: 0 new, 0 updated" in again.stdout
