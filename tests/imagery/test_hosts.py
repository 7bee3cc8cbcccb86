"""`asmdb featurize --allow-hosts`: a STAC document's URLs are fetched only from listed hosts,
refused in one line before anything is read; local files stay allowed."""

from __future__ import annotations

import json
import multiprocessing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import rasterio

from asm_db.errors import InputError
from asm_db.imagery.hosts import check_location, parse_hosts

from featurize_checks import FEATURIZE, _bad, vectors
from rasters import write_4326


class _Files(BaseHTTPRequestHandler):
    """Serves one folder with HTTP range requests (as GDAL's /vsicurl/ asks), writing each
    request's path to a log."""

    folder: Path
    log: Path

    def do_HEAD(self):
        self._send(head=True)

    def do_GET(self):
        self._send(head=False)

    def _send(self, head: bool):
        with open(self.log, "a") as log:
            log.write(self.path + "\n")
        path = self.folder / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start, end = 0, len(data) - 1
        wanted = self.headers.get("Range")
        if wanted and wanted.startswith("bytes="):
            first, _, last = wanted[6:].partition("-")
            start, end = int(first), min(int(last or end), end)
        self.send_response(206 if wanted else 200)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if wanted:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.end_headers()
        if not head:
            self.wfile.write(data[start : end + 1])

    def log_message(self, *args):
        pass


class _Requests:
    """The paths the server was asked for, so far."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def __bool__(self) -> bool:
        return bool(self.paths())

    def paths(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def served(tmp_path):
    """A loopback HTTP server of tmp_path/www in a process of its own (GDAL holds this one's
    interpreter while it reads): (base URL, the requests it saw)."""
    www = tmp_path / "www"
    www.mkdir()
    log = tmp_path / "requests.log"
    handler = type("Handler", (_Files,), {"folder": www, "log": log})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    process = multiprocessing.get_context("fork").Process(target=server.serve_forever)
    process.start()
    server.server_close()  # the child serves on its copy of the socket
    yield f"http://127.0.0.1:{server.server_port}", _Requests(log)
    process.terminate()
    process.join(10)


def _item(href: str) -> dict:
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "REMOTE_1",
        "geometry": None,
        "properties": {"datetime": "2024-01-01T00:00:00Z"},
        "links": [],
        "assets": {"red": {"href": href}},
    }


def _stac(tmp_path, href: str) -> Path:
    stac = tmp_path / "items.json"
    stac.write_text(json.dumps({"type": "FeatureCollection", "features": [_item(href)]}))
    return stac


@pytest.mark.slow
def test_an_asset_on_a_host_not_allowed_is_refused_before_anything_is_read(
    cli, pg, tmp_path, served, monkeypatch
):
    base, requests = served
    write_4326(tmp_path / "www" / "red.tif", bands=1)
    stac = _stac(tmp_path, f"{base}/red.tif")
    common = [str(stac), "--assets", "red", "--method", "mean"]
    line = _bad(cli, pg, *common, "--feature-set", "x", "--allow-hosts", "example.org")
    assert "item 'REMOTE_1', asset 'red'" in line and "127.0.0.1" in line
    assert "--allow-hosts" in line
    monkeypatch.setenv("ASMDB_ALLOWED_HOSTS", "example.org,tiles.example.net")
    line = _bad(cli, pg, *common, "--feature-set", "x")
    assert "item 'REMOTE_1', asset 'red'" in line
    assert requests.paths() == []  # nothing was fetched
    monkeypatch.setenv("ASMDB_ALLOWED_HOSTS", "127.0.0.1")
    done = cli(*FEATURIZE, *common, "--feature-set", "listed")
    assert done.code == 0, done.stderr
    assert requests and len(vectors(pg, "listed")) == 16


@pytest.mark.slow
def test_without_the_option_any_host_is_fetched_and_local_files_stay_allowed(
    cli, pg, tmp_path, served
):
    base, requests = served
    write_4326(tmp_path / "www" / "red.tif", bands=1)
    done = cli(
        *FEATURIZE, str(_stac(tmp_path, f"{base}/red.tif")), "--assets", "red", "--method", "mean",
        "--feature-set", "open",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    assert requests  # loopback included: the default, documented
    local = write_4326(tmp_path / "local.tif")
    done = cli(
        *FEATURIZE, str(local), "--method", "mean", "--feature-set", "local",
        "--allow-hosts", "example.org",
    )  # fmt: skip
    assert done.code == 0, done.stderr


def test_a_catalog_link_to_a_host_not_allowed_is_not_followed(cli, pg, tmp_path, served):
    base, requests = served
    child = {"type": "Catalog", "stac_version": "1.0.0", "id": "c", "description": "c", "links": []}
    (tmp_path / "www" / "child.json").write_text(json.dumps(child))
    catalog = {
        "type": "Catalog",
        "stac_version": "1.0.0",
        "id": "root",
        "description": "root",
        "links": [{"rel": "child", "href": f"{base}/child.json", "type": "application/json"}],
    }
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    line = _bad(
        cli, pg, str(path), "--assets", "red", "--feature-set", "x", "--allow-hosts", "example.org"
    )
    assert "127.0.0.1" in line and "--allow-hosts" in line
    assert requests.paths() == []


@pytest.mark.parametrize(
    "href, allowed",
    [
        ("/data/red.tif", True),
        ("file:///data/red.tif", True),
        ("/vsicurl/https://tiles.example.org/red.tif", True),
        ("https://TILES.example.org:443/red.tif", True),
        ("/vsizip//vsicurl/http://tiles.example.org/a.zip/red.tif", True),
        ("/vsicurl/http://127.0.0.1:8080/red.tif", False),
        ("/vsicurl?url=http%3A%2F%2F169.254.169.254%2Fx.tif", False),
        ("/vsizip//vsicurl/http://evil.example.com/a.zip/red.tif", False),
        ("https://tiles.example.org@evil.example.com/red.tif", False),
        ("/vsis3/bucket/red.tif", False),
        ("ftp://tiles.example.org/red.tif", False),
        ("file://otherhost/data/red.tif", False),
    ],
)
def test_locations_are_checked_through_gdal_prefixes(href, allowed):
    hosts = parse_hosts("tiles.example.org")
    if allowed:
        check_location(href, "items.json", hosts)
    else:
        with pytest.raises(InputError, match="items.json"):
            check_location(href, "items.json", hosts)
    check_location(href, "items.json", None)  # no list: every location


def test_a_vrt_naming_a_host_not_allowed_is_refused(cli, pg, tmp_path, served):
    base, requests = served
    source = write_4326(tmp_path / "www" / "red.tif", bands=1)
    with rasterio.open(source) as src:
        width, height = src.width, src.height
    vrt = tmp_path / "red.vrt"
    with rasterio.open(source) as src:
        transform = ", ".join(str(v) for v in src.transform.to_gdal())
        crs = src.crs.to_wkt()
    vrt.write_text(
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}"><SRS>{crs}</SRS>'
        f"<GeoTransform>{transform}</GeoTransform>"
        '<VRTRasterBand dataType="UInt16" band="1"><SimpleSource>'
        f'<SourceFilename relativeToVRT="0">/vsicurl/{base}/red.tif</SourceFilename>'
        "<SourceBand>1</SourceBand></SimpleSource></VRTRasterBand></VRTDataset>"
    )
    line = _bad(cli, pg, str(vrt), "--feature-set", "x", "--allow-hosts", "example.org")
    assert str(vrt) in line and "127.0.0.1" in line
    assert requests.paths() == []  # GDAL opens a VRT's sources only to read pixels
