"""Behind a proxy: `--forwarded-allow-ips` decides whose headers count, and the base URL makes
the OGC links. On the session's `site`."""

from __future__ import annotations

import httpx
import pytest

from web_server import post_logins, serve

pytestmark = [
    pytest.mark.slow,  # starts the web server on a trained database
    pytest.mark.xdist_group("site"),  # one worker builds the session's site
]


def test_a_trusted_proxy_names_the_client_the_scheme_and_the_host(site):
    """`--forwarded-allow-ips 127.0.0.1`: the proxy's X-Forwarded-For is the address the
    throttle counts (a login that succeeded does not count), and its X-Forwarded-Proto and
    -Host are this server's origin for the same-origin check and the OGC links. Without it
    (the site's server) the same headers are ignored."""
    name, password = site["roles"]["ana"]
    right = {"username": name, "password": password}
    wrong = {"username": name, "password": "wrong"}
    proxied = {
        "Origin": "https://maps.example.org",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "maps.example.org",
    }
    untrusted = httpx.Client(base_url=site["server"].url, timeout=60)
    assert untrusted.post("/api/login", json=right, headers=proxied).status_code == 403
    landing = untrusted.get("/?f=json", headers=proxied).json()
    assert all(link["href"].startswith(site["server"].url) for link in landing["links"])
    with serve(site["server_url"], "--forwarded-allow-ips", "127.0.0.1") as server:
        # Nine failures, then successes (which do not count), then the tenth failure.
        codes = post_logins(server.url, [wrong] * 9, ["203.0.113.5"] * 9)
        codes += [post_logins(server.url, [right], ["203.0.113.5"])[0] for _ in range(3)]
        codes += [post_logins(server.url, [w], ["203.0.113.5"])[0] for w in (wrong, right)]
        assert codes == [401] * 9 + [200] * 3 + [401, 429]
        # Another client behind the same proxy is not paused.
        assert post_logins(server.url, [right], ["203.0.113.6"]) == [200]
        c = httpx.Client(base_url=server.url, timeout=60)
        ok = c.post("/api/login", json=right, headers=proxied)
        assert ok.status_code == 200, ok.text
        landing = c.get("/?f=json", headers=proxied).json()
        assert {link["href"].split("/")[2] for link in landing["links"]} == {"maps.example.org"}
        assert all(link["href"].startswith("https://") for link in landing["links"])
        elsewhere = {**proxied, "Origin": "https://evil.example"}
        assert c.post("/api/login", json=right, headers=elsewhere).status_code == 403


def test_the_base_url_makes_the_ogc_links(site):
    """ASMDB_BASE_URL: the landing page's and tipg's links use it, whatever Host is sent."""
    base = "https://maps.example.org/asmdb"
    with serve(site["server_url"], "--public", env={"ASMDB_BASE_URL": base}) as server:
        c = httpx.Client(base_url=server.url, timeout=60, headers={"Host": "evil.example"})
        hrefs = [link["href"] for link in c.get("/?f=json").json()["links"]]
        hrefs += [link["href"] for link in c.get("/collections").json()["links"]]
        items = c.get("/collections/asmdb.latest_predictions/items", params={"limit": 1})
        assert items.status_code == 200, items.text
        hrefs += [link["href"] for link in items.json()["links"]]
        assert hrefs and all(h.startswith(base + "/") for h in hrefs), hrefs
        assert f"{base}/collections" in hrefs
        assert any(h.startswith(f"{base}/collections/asmdb.latest_predictions") for h in hrefs)
