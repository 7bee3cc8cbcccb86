"""A real STAC API on loopback for the imagery tests: stac-fastapi-pgstac over a throwaway
database of the main cluster, and an HTTP server with Range support for the asset files.

The server's libraries live in a venv of their own (`scripts/setup` makes `.venv-stac` when
ASMDB_WITH_STAC=1; ASMDB_TEST_STAC_VENV points elsewhere). The items are small Sentinel-2-like
scenes of one place (`AREA`): four dates, each as two granules in two UTM zones (32628 and
32629, which meet at 12 degrees west) that overlap; single-band COGs red, green, blue and an
SCL band. The ground is the same every date (`GROUND`); clouds (SCL 9, bright in the bands)
cover a band of longitudes that differs by date (`CLOUDS`), and where every date is cloudy
the composite must be empty. The 2021 date stores reflectance as float32 with no
`raster:bands`; the 2022 dates store digital numbers with scale 0.0001 and offset -0.1 (the
processing baseline 04.00); the last date is bright everywhere with `eo:cloud_cover` 95.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg
import rasterio
from psycopg import sql
from rasterio.transform import from_origin
from rasterio.warp import transform as warp_points
from rasterio.warp import transform_bounds

ROOT = Path(__file__).resolve().parent.parent
STAC_VENV = Path(os.environ.get("ASMDB_TEST_STAC_VENV", ROOT / ".venv-stac"))
ADMIN_URL = os.environ.get("ASMDB_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

COLLECTION = "s2-test"
AREA = (-12.03, 8.00, -11.97, 8.02)  # 6 x 2 cells of 0.01 degrees
GRANULES = {  # zone: lon range (overlapping at -12.005..-11.995), lat 7.995..8.025
    "EPSG:32628": (-12.035, -11.995),
    "EPSG:32629": (-12.005, -11.965),
}
LATS = (7.995, 8.025)
RES_M = 20.0
GROUND = {"red": 0.10, "green": 0.15, "blue": 0.20}
CLOUD_VALUE = 0.8
# Per date: cloudy longitudes [a, b), its SCL class, and how values are stored.
DATES = [
    ("2021-06-01", [(-12.030, -12.000)], 9, "float", 10),
    ("2022-06-01", [(-12.020, -11.990)], 8, "baseline4", 20),
    ("2022-07-01", [(-12.025, -12.005), (-11.980, -11.975)], 3, "baseline4", 30),
]
CLOUDY_DATE = ("2022-08-01", 95)  # bright everywhere, SCL says clear: must be skipped
SCALE, OFFSET = 0.0001, -0.1


def all_cloudy(lon: np.ndarray) -> np.ndarray:
    """Where no date of DATES is clear."""
    out = np.ones(lon.shape, bool)
    for _, clouds, _, _, _ in DATES:
        cloudy = np.zeros(lon.shape, bool)
        for a, b in clouds:
            cloudy |= (lon >= a) & (lon < b)
        out &= cloudy
    return out


def near_an_edge(lon: np.ndarray, margin: float) -> np.ndarray:
    """Within `margin` degrees of a cloud's edge (where resampling may pick either side)."""
    edges = [e for _, clouds, _, _, _ in DATES for c in clouds for e in c]
    return np.min([np.abs(lon - e) for e in edges], axis=0) < margin


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write(path: Path, data: np.ndarray, crs: str, transform, nodata) -> None:
    profile = dict(
        driver="COG",
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype=data.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
        blocksize=128,
    )
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)


def _granule(folder: Path, item_id: str, crs: str, lons, clouds, scl_class, kind, bright=False):
    """Write one granule's four assets; return its footprint (lon/lat polygon) and assets."""
    left_lon, right_lon = lons
    (x0, x1), (y0, y1) = warp_points("EPSG:4326", crs, [left_lon, right_lon], [LATS[0], LATS[1]])
    left, top = min(x0, x1), max(y0, y1)
    width = round((max(x0, x1) - left) / RES_M)
    height = round((top - min(y0, y1)) / RES_M)
    transform = from_origin(left, top, RES_M, RES_M)
    cols, rows = np.meshgrid(np.arange(width), np.arange(height))
    x = left + (cols + 0.5) * RES_M
    y = top - (rows + 0.5) * RES_M
    lon, _ = warp_points(crs, "EPSG:4326", x.ravel(), y.ravel())
    lon = np.reshape(lon, x.shape)
    cloudy = np.zeros(x.shape, bool)
    for a, b in clouds:
        cloudy |= (lon >= a) & (lon < b)
    scl = np.where(cloudy, scl_class, 4).astype(np.uint8)
    scl[:, :2] = 0  # an edge of no data, as granules have
    assets = {}
    for band, value in GROUND.items():
        reflectance = np.where(cloudy | bright, CLOUD_VALUE, value)
        if kind == "float":
            data, nodata, raster = reflectance.astype(np.float32), float("nan"), None
        else:
            data = np.round((reflectance - OFFSET) / SCALE).astype(np.uint16)
            nodata, raster = 0, [{"scale": SCALE, "offset": OFFSET, "nodata": 0}]
        data[:, :2] = nodata
        path = folder / f"{item_id}_{band}.tif"
        _write(path, data, crs, transform, nodata)
        assets[band] = (path.name, raster)
    path = folder / f"{item_id}_scl.tif"
    _write(path, scl, crs, transform, 0)
    assets["scl"] = (path.name, [{"nodata": 0}])
    w, s, e, n = transform_bounds(
        crs, "EPSG:4326", left, top - height * RES_M, left + width * RES_M, top
    )
    return (w, s, e, n), assets


def _item(item_id, date, cloud_cover, crs, bounds, assets, base_url, extra=None) -> dict:
    w, s, e, n = bounds
    out = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
            "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
        ],
        "id": item_id,
        "collection": COLLECTION,
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]],
        },
        "bbox": [w, s, e, n],
        "properties": {
            "datetime": f"{date}T11:00:00Z",
            "eo:cloud_cover": cloud_cover,
            "proj:epsg": int(crs.split(":")[1]),
        },
        "links": [],
        "assets": {},
    }
    for name, (file, raster) in assets.items():
        asset = {
            "href": f"{base_url}/{file}",
            "type": "image/tiff; application=geotiff; profile=cloud-optimized",
            "roles": ["data"],
        }
        if raster is not None:
            asset["raster:bands"] = raster
        out["assets"][name] = asset
    out.update(extra or {})
    return out


def write_items(folder: Path, base_url: str) -> list[dict]:
    """The assets of every date and granule in `folder`, and their STAC items."""
    items = []
    for date, clouds, scl_class, kind, cover in DATES:
        for crs, lons in GRANULES.items():
            item_id = f"S2_{crs[-5:]}_{date}"
            bounds, assets = _granule(folder, item_id, crs, lons, clouds, scl_class, kind)
            items.append(_item(item_id, date, cover, crs, bounds, assets, base_url))
    date, cover = CLOUDY_DATE
    for crs, lons in GRANULES.items():
        item_id = f"S2_{crs[-5:]}_{date}"
        bounds, assets = _granule(folder, item_id, crs, lons, [], 4, "baseline4", bright=True)
        items.append(_item(item_id, date, cover, crs, bounds, assets, base_url))
    return items


def collection(with_scl: bool = True, collection_id: str = COLLECTION) -> dict:
    assets = {b: {"title": b, "roles": ["data"]} for b in GROUND}
    if with_scl:
        assets["scl"] = {"title": "scene classification", "roles": ["data"]}
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": collection_id,
        "description": "Small Sentinel-2-like scenes for asmdb's tests",
        "license": "proprietary",
        "extent": {
            "spatial": {"bbox": [[-12.1, 7.9, -11.9, 8.1]]},
            "temporal": {"interval": [["2021-01-01T00:00:00Z", "2022-12-31T23:59:59Z"]]},
        },
        "links": [],
        "item_assets": assets,
    }


@dataclass
class StacApi:
    url: str  # the API's root
    assets_url: str  # where the asset files are served
    folder: Path  # the asset files
    dsn: str

    def load(self, collection_doc: dict, items: list[dict]) -> None:
        """Add a collection and its items to the API's database."""
        folder = self.folder
        tag = uuid.uuid4().hex[:8]
        coll = folder / f"collection_{tag}.json"
        coll.write_text(json.dumps(collection_doc))
        lines = folder / f"items_{tag}.ndjson"
        lines.write_text("".join(json.dumps(i) + "\n" for i in items))
        _pypgstac("load", "collections", str(coll), "--dsn", self.dsn, "--method", "insert")
        if items:
            _pypgstac("load", "items", str(lines), "--dsn", self.dsn, "--method", "insert")


def _pypgstac(*args: str) -> None:
    done = subprocess.run(
        [str(STAC_VENV / "bin" / "pypgstac"), *args], capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise RuntimeError(f"pypgstac {' '.join(args[:2])}: {done.stderr[-2000:]}")


def _wait(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url}: no answer in {seconds} s")


ASSET_SERVER = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
app = Starlette(routes=[Mount("/", StaticFiles(directory=sys.argv[1]))])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_stac_api(folder: Path):
    """Start the API and the asset server over a new database; stop and drop all afterwards."""
    python = STAC_VENV / "bin" / "python"
    if not python.exists():
        raise RuntimeError(
            f"no STAC API venv at {STAC_VENV}: run ASMDB_WITH_STAC=1 scripts/setup "
            "(or set ASMDB_TEST_STAC_VENV)"
        )
    name = f"asmdb_stac_{uuid.uuid4().hex[:8]}"
    info = psycopg.conninfo.conninfo_to_dict(ADMIN_URL)
    user, host, port = info.get("user", "postgres"), info.get("host", "127.0.0.1"), "5432"
    port = str(info.get("port", port))
    dsn = f"postgresql://{user}@{host}:{port}/{name}"
    processes: list[subprocess.Popen] = []
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        _pypgstac("migrate", "--dsn", dsn)
        api_port, assets_port = _free_port(), _free_port()
        env = {
            **os.environ,
            "POSTGRES_USER": user,
            "POSTGRES_PASS": info.get("password", ""),
            "POSTGRES_DBNAME": name,
            "POSTGRES_HOST_READER": host,
            "POSTGRES_HOST_WRITER": host,
            "POSTGRES_PORT": port,
            # the names stac-fastapi-pgstac 7.2 reads (libpq's)
            "PGUSER": user,
            "PGPASSWORD": info.get("password", ""),
            "PGHOST": host,
            "PGPORT": port,
            "PGDATABASE": name,
            "STAC_FASTAPI_TITLE": "asmdb test STAC API",
            "STAC_FASTAPI_DESCRIPTION": "Small Sentinel-2-like items",
            "STAC_FASTAPI_LANDING_ID": "asmdb-test",
            "STAC_FASTAPI_VERSION": "1",
        }
        env.pop("PYTHONPATH", None)
        processes.append(
            subprocess.Popen(
                [str(python), "-c", ASSET_SERVER, str(folder), str(assets_port)],
                env=env,
                stdout=subprocess.DEVNULL,
            )
        )
        processes.append(
            subprocess.Popen(
                [
                    str(STAC_VENV / "bin" / "uvicorn"),
                    "--factory",
                    "stac_fastapi.pgstac.app:create_app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(api_port),
                    "--log-level",
                    "warning",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
            )
        )
        api = StacApi(
            f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{assets_port}", folder, dsn
        )
        (folder / "up.txt").write_text("up")
        _wait(f"{api.assets_url}/up.txt", processes[0])
        _wait(api.url, processes[1])
        yield api
    finally:
        for process in processes:
            _stop(process)
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


if __name__ == "__main__":  # a look at the API by hand: python tests/stac_api.py DIR
    target = Path(sys.argv[1])
    target.mkdir(parents=True, exist_ok=True)
    with running_stac_api(target) as served:
        served.load(collection(), write_items(target, served.assets_url))
        print(served.url, flush=True)
        input("press Enter to stop ")
