"""Injection attempts through every parameter of `asmdb serve` (collections, items, tiles, the
review API) change nothing and answer no 500. On the session's `site`."""

from __future__ import annotations

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


INJECTIONS = [
    "1; DROP TABLE asmdb.labels; --",
    "x'); DROP TABLE asmdb.labels; --",
    "' OR '1'='1",
    '"; SELECT pg_sleep(5); --',
    "asmdb.labels UNION SELECT * FROM asmdb.model_runs",
    "%00",
    "../../etc/passwd",
]


def test_injection_through_every_parameter(site, pg):
    labels_before = pg.execute("SELECT count(*) FROM asmdb.labels").fetchone()
    ana = client(site, "ana")
    items = "/collections/asmdb.latest_predictions/items"
    answers = []
    for bad in INJECTIONS:
        for path, params in (
            (f"/collections/{bad}/items", {}),
            (f"/collections/asmdb.{bad}", {}),
            (items, {"bbox": bad}),
            (items, {"limit": bad}),
            (items, {"offset": bad}),
            (items, {"properties": bad}),
            (items, {"sortby": bad}),
            (items, {"ids": bad}),
            (items, {"datetime": bad}),
            (items, {"filter": f"tile_id = '{bad}'"}),
            (items, {"filter": bad, "filter-lang": "cql2-text"}),
            (items, {bad: "1"}),
            (f"{items}/{bad}", {}),
            (f"/collections/asmdb.latest_predictions/tiles/WebMercatorQuad/{bad}/1/1", {}),
            (
                "/collections/asmdb.latest_predictions/tiles/WebMercatorQuad/10/480/487",
                {"properties": bad},
            ),
            (f"/api/tiles/{bad}", {}),
            ("/api/review", {"run": bad}),
            ("/api/similar", {"tile": bad}),
            ("/api/similar", {"tile": "1", "feature_set": bad}),
        ):
            answers.append((path, params, ana.get(path, params=params)))
        answers.append(
            ("login", bad, ana.post("/api/login", json={"username": bad, "password": bad}))
        )
        answers.append(
            ("answer", bad, ana.post(f"/api/review/{bad}", json={"status": "confirmed"}))
        )
        answers.append(("status", bad, ana.post("/api/review/7", json={"status": bad})))
    for where, what, response in answers:
        assert response.status_code < 500, (where, what, response.status_code, response.text)
        body = response.text
        assert "Traceback" not in body and "postgresql://" not in body, (where, what, body)
    # Notes are data: stored exactly as written.
    ana = client(site, "ana")
    note = INJECTIONS[1]
    assert ana.post("/api/review/8", json={"status": "unclear", "notes": note}).status_code == 200
    assert queue_row(pg, 8)[3] == note
    # Text PostgreSQL cannot hold is the request's mistake, stored nowhere.
    for field in ("notes", "seen_reviewer", "seen_status"):
        answer = ana.post("/api/review/10", json={"status": "unclear", field: "a\x00b"})
        assert answer.status_code == 422, (field, answer.text)
    assert pg.execute("SELECT count(*) FROM asmdb.labels").fetchone() == labels_before
    # Nothing else was answered by any of those requests
    # (5 and 6 are the conflict test's, 9 the grant test's).
    assert pg.execute(
        "SELECT count(*) FROM asmdb.review_queue WHERE status <> 'pending' AND review_id NOT IN (5, 6, 8, 9)"
    ).fetchone() == (0,)
