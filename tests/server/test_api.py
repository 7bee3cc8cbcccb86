"""The review API of `asmdb serve`: only a logged-in reviewer with the session's token writes,
answers by others are replaced only by choice, and only the answer columns change. On the
session's `site`."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from web_server import client, queue_row, site_connection

pytestmark = [
    pytest.mark.slow,  # starts the web server on a trained database
    pytest.mark.xdist_group("site"),  # one worker builds the session's site
]


@pytest.fixture
def pg(site):
    """The site's own database, not a throwaway clone."""
    with site_connection(site) as conn:
        yield conn


def test_only_a_reviewer_with_a_token_can_write(site, pg):
    before = pg.execute(
        "SELECT md5(string_agg(q::text, '|' ORDER BY review_id)) FROM asmdb.review_queue q"
    ).fetchone()
    answer = {"status": "confirmed", "notes": "x"}
    assert client(site).post("/api/review/3", json=answer).status_code == 401
    ana = client(site, "ana")
    no_token = httpx.Client(base_url=site["server"].url, cookies=ana.cookies, timeout=60)
    assert no_token.post("/api/review/3", json=answer).status_code == 403
    forged = ana.post("/api/review/3", json=answer, headers={"X-CSRF-Token": "forged"})
    assert forged.status_code == 403
    cross_site = ana.post("/api/review/3", json=answer, headers={"Origin": "https://evil.example"})
    assert cross_site.status_code == 403
    # A reader is refused by PostgreSQL's grants, not by the page.
    reader = client(site, "reader")
    assert reader.get("/api/session").json()["can_review"] is False
    assert reader.post("/api/review/3", json=answer).status_code == 403
    after = pg.execute(
        "SELECT md5(string_agg(q::text, '|' ORDER BY review_id)) FROM asmdb.review_queue q"
    ).fetchone()
    assert before == after


def test_an_answer_by_someone_else_is_replaced_only_by_choice(site, pg):
    ana, ben = client(site, "ana"), client(site, "ben")
    ana_name, ben_name = site["roles"]["ana"][0], site["roles"]["ben"][0]
    r = ana.post("/api/review/5", json={"status": "confirmed", "notes": "fresh pit"})
    assert r.status_code == 200, r.text
    status, reviewer, reviewed_at, notes = queue_row(pg, 5)
    assert (status, reviewer, notes) == ("confirmed", ana_name, "fresh pit")
    # Ben does not overwrite it unseen: he is told who answered and when.
    r = ben.post("/api/review/5", json={"status": "rejected", "notes": "a road"})
    assert r.status_code == 409
    current = r.json()["current"]
    assert current["reviewer"] == ana_name and current["status"] == "confirmed"
    assert queue_row(pg, 5)[:2] == ("confirmed", ana_name)
    # Replacing needs the answer as shown; a stale one is refused again.
    stale = dict(replace=True, seen_status="pending", seen_reviewer=None, seen_reviewed_at=None)
    assert ben.post("/api/review/5", json={"status": "rejected", **stale}).status_code == 409
    seen = dict(
        replace=True,
        seen_status=current["status"],
        seen_reviewer=current["reviewer"],
        seen_reviewed_at=current["reviewed_at"],
    )
    r = ben.post("/api/review/5", json={"status": "rejected", "notes": "a road", **seen})
    assert r.status_code == 200
    status, reviewer, new_time, notes = queue_row(pg, 5)
    assert (status, reviewer, notes) == ("rejected", ben_name, "a road") and new_time > reviewed_at
    # Ana may change her own answers freely.
    assert ana.post("/api/review/6", json={"status": "unclear"}).status_code == 200
    assert ana.post("/api/review/6", json={"status": "confirmed"}).status_code == 200
    assert queue_row(pg, 6)[:2] == ("confirmed", ana_name)


def test_a_reviewer_role_may_change_only_the_answer_columns(site):
    name, password = site["roles"]["ana"]
    info = psycopg.conninfo.conninfo_to_dict(site["url"].replace("+psycopg", ""))
    as_ana = psycopg.conninfo.make_conninfo(**{**info, "user": name, "password": password})
    with psycopg.connect(as_ana, autocommit=True) as conn:
        conn.execute(
            "UPDATE asmdb.review_queue SET status = 'unclear', reviewer = current_user, "
            "reviewed_at = now(), notes = 'grant check' WHERE review_id = 9"
        )
        assert conn.execute("SELECT count(*) FROM asmdb.labels").fetchone()[0] > 0
        for forbidden in (
            "UPDATE asmdb.review_queue SET probability = 1 WHERE review_id = 9",
            "DELETE FROM asmdb.review_queue WHERE review_id = 9",
            "UPDATE asmdb.labels SET label = 1 WHERE label_id = 1",
            "DELETE FROM asmdb.predictions",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(forbidden)
