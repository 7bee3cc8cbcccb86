"""QGIS opens asmdb as a finished map: checked with Debian's real QGIS, run headless, connected
as the read-only role through a pg_service.conf service, as the README tells users to."""

from __future__ import annotations

import io
import json
import socket
import uuid
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from urllib.parse import parse_qs

import geopandas as gpd
import httpx
import morecantile
import numpy as np
import psycopg
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
import rasterio
from psycopg import errors, sql

from asm_db import layers
from asm_db.cli.qgis import PUBLIC_ONLY
from asm_db.probability_classes import BREAKS as PROBABILITY_BREAKS

from conftest import ADMIN_URL, invoke_asmdb, snapshot, throwaway_db
from qgis_run import run_qgis
from rasters import EAST, NORTH, SOUTH, WEST, write_4326, write_utm
from web_server import as_role, serve

pytestmark = pytest.mark.xdist_group("qgis")  # the module's `world`, built by one worker


def _drop_role(name: str, url: str) -> None:
    """Roles belong to the whole server: revoke what the role holds in the test database, then
    drop it, so no test leaves a role behind."""
    for each in (name, f"{name}_public"):  # a reader comes with its anonymous visitors' role
        role = sql.Identifier(each)
        with psycopg.connect(_plain(url), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (each,)).fetchone():
                conn.execute(sql.SQL("DROP OWNED BY {}").format(role))
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(role))


def _plain(url: str) -> str:
    return url.replace("+psycopg", "")


def _ok(result):
    assert result.code == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def world(loaded_template, sample, tmp_path_factory):
    """A database as a team leaves it: data (ingested in the template), two runs, styles and
    project installed, a reader role, and one look at it all through QGIS as that reader."""
    tmp = tmp_path_factory.mktemp("qgis")
    reader = f"asmdb_reader_{uuid.uuid4().hex[:6]}"
    service = f"asmdb_{uuid.uuid4().hex[:6]}"
    with throwaway_db(loaded_template) as url:
        try:
            _ok(invoke_asmdb(url, "train", "--cv", "seed", "--bootstrap", "0", "--json"))
            # A second feature set covering part of the area: the newest run has fewer tiles.
            table = feather.read_table(sample.features)
            part = tmp / "part.feather"
            feather.write_feather(table.slice(0, table.num_rows // 2), part)
            _ok(invoke_asmdb(url, "ingest", "features", str(part), "--feature-set", "part"))
            _ok(invoke_asmdb(url, "qgis", "install", "--service", service))
            newest = json.loads(
                _ok(
                    invoke_asmdb(
                        url,
                        "train",
                        "--feature-set",
                        "part",
                        "--cv",
                        "seed",
                        "--bootstrap",
                        "0",
                        "--json",
                    )
                ).stdout
            )
            _ok(invoke_asmdb(url, "roles", "create", "--name", reader, "--password", "s3cret'; --"))
            gpkg = tmp / "predictions.gpkg"
            parquet = tmp / "predictions.parquet"
            _ok(invoke_asmdb(url, "export", "predictions", str(gpkg)))
            _ok(invoke_asmdb(url, "export", "predictions", str(parquet), "--run", "1"))

            dbname = url.rsplit("/", 1)[1]
            service_file = tmp / "pg_service.conf"
            service_file.write_text(
                f"[{service}]\nhost=127.0.0.1\nport=5432\ndbname={dbname}\nuser={reader}\n"
            )
            source = f"service='{service}'"
            png = tmp / "map.png"
            seen = run_qgis(
                {
                    "layers": [
                        {
                            "name": "latest_predictions",
                            "uri": f'{source} key=\'tile_id\' table="asmdb"."latest_predictions" (geom)',
                        },
                        {
                            "name": "labels",
                            "uri": f'{source} table="asmdb"."labels" (geom)',
                            "insert": {
                                "unique_id": "qgis-edit",
                                "lon": -11.1,
                                "lat": 8.5,
                                "label": 1,
                                "wkt": "POINT(-11.1 8.5)",
                            },
                        },
                        {"name": "tiles", "uri": f'{source} table="asmdb"."tiles" (geom)'},
                        {
                            "name": "latest_overviews",
                            "uri": f"{source} key='overview_id' "
                            'table="asmdb"."latest_overviews" (geom)',
                        },
                        {
                            "name": "similar_tiles",
                            "uri": f'{source} table="asmdb"."similar_tiles" (geom)',
                        },
                        {
                            "name": "label_tiles",
                            # As the Browser adds a view: its first column as the key.
                            "uri": f"{source} key='label_tile_id' "
                            'table="asmdb"."label_tiles" (geom)',
                        },
                        {"name": "gpkg", "uri": f"{gpkg}|layername=predictions", "provider": "ogr"},
                    ],
                    "project": f"postgresql://?service={service}&schema=asmdb&project=asmdb",
                    "render": str(png),
                },
                tmp,
                service_file,
            )
            with psycopg.connect(_plain(url), autocommit=True) as pg:
                yield {
                    "url": url,
                    "pg": pg,
                    "reader": reader,
                    "service": service,
                    "newest": newest,
                    "seen": seen,
                    "png": png,
                    "gpkg": gpkg,
                    "parquet": parquet,
                    "layers": {layer["name"]: layer for layer in seen["layers"]},
                }
        finally:
            _drop_role(reader, url)


@pytest.mark.qgis
def test_probability_layer_is_valid_complete_and_styled_by_default(world):
    layer = world["layers"]["latest_predictions"]
    newest_count = (
        world["pg"]
        .execute(
            "SELECT count(*) FROM asmdb.predictions WHERE run_id = (SELECT max(run_id) FROM asmdb.model_runs)"
        )
        .fetchone()[0]
    )
    total = world["pg"].execute("SELECT count(*) FROM asmdb.predictions").fetchone()[0]
    assert layer["valid"], world["seen"]["messages"]
    assert layer["feature_count"] == newest_count == world["newest"]["counts"]["tiles_predicted"]
    assert newest_count < total  # the older run is not shown
    assert layer["crs"] == "EPSG:4326"
    assert layer["renderer"] == "graduatedSymbol"
    assert layer["class_attribute"] == "probability"
    bounds = [b for r in layer["ranges"] for b in r]
    expected = [
        b
        for pair in zip(PROBABILITY_BREAKS[:-1], PROBABILITY_BREAKS[1:], strict=True)
        for b in pair
    ]
    assert bounds == pytest.approx(expected)
    assert layer["range_colors"][0] == "#440154" and layer["range_colors"][-1] == "#fde725"
    assert set(layer["outline_styles"]) == {"no"}


@pytest.mark.qgis
def test_overview_blocks_are_coloured_by_their_mean_and_outlined_where_a_tile_is_hot(world):
    """The blocks of tiles open in QGIS as the web page draws them: in the class of their mean
    probability (one hot tile does not colour its block), outlined in the top class's colour
    where a tile reaches 0.8."""
    layer = world["layers"]["latest_overviews"]
    assert layer["valid"], world["seen"]["messages"]
    assert layer["feature_count"] > 0
    assert layer["renderer"] == "graduatedSymbol"
    assert layer["class_attribute"] == "probability_mean"
    bounds = [b for r in layer["ranges"] for b in r]
    assert bounds[::2] == pytest.approx(list(PROBABILITY_BREAKS[:-1]))
    assert layer["conditional_layers"] == [
        [["253,231,37,255", '"probability" >= 0.8']] for _ in layer["ranges"]
    ]


@pytest.mark.qgis
def test_labels_and_tiles_have_their_default_styles(world):
    labels = world["layers"]["labels"]
    assert labels["valid"] and labels["renderer"] == "categorizedSymbol"
    assert {"mine: artisanal", "not a mine"} <= set(labels["categories"])
    tiles = world["layers"]["tiles"]
    assert tiles["valid"] and tiles["renderer"] == "singleSymbol"
    assert tiles["symbol"]["style"] == "no" and tiles["symbol"]["outline_style"] == "solid"
    similar = world["layers"]["similar_tiles"]
    assert similar["valid"] and similar["renderer"] == "singleSymbol"
    assert similar["symbol"]["style"] == "no"
    assert similar["symbol"]["outline_color"].startswith("255,0,255")


@pytest.mark.qgis
def test_join_view_opens_with_its_own_key(world):
    layer = world["layers"]["label_tiles"]
    joined = world["pg"].execute("SELECT count(*) FROM asmdb.label_tiles").fetchone()[0]
    assert layer["valid"] and layer["feature_count"] == joined
    assert layer["fields"][0] == "label_tile_id"


@pytest.mark.qgis
def test_styles_survive_a_new_run(world):
    # `qgis install` ran before the second `train`; QGIS above still found every style.
    rows = (
        world["pg"]
        .execute(
            "SELECT f_table_name FROM public.layer_styles WHERE f_table_schema = 'asmdb' "
            "AND stylename = 'asmdb' AND useasdefault ORDER BY 1"
        )
        .fetchall()
    )
    assert [r[0] for r in rows] == sorted(layer.table for layer in layers.LAYERS)


@pytest.mark.qgis
def test_stored_project_opens_with_its_layers_labels_on_top(world):
    project = world["seen"]["project"]
    assert project["read"], world["seen"]["messages"]
    assert project["crs"] == "EPSG:4326"
    names = [layer["name"] for layer in project["layers"]]
    assert names == [layer.project.title for layer in layers.in_project()]
    assert names[:2] == ["Review queue", "Field labels"]
    assert all(layer["valid"] for layer in project["layers"]), world["seen"]["messages"]
    assert [layer["renderer"] for layer in project["layers"]] == [
        "categorizedSymbol",
        "categorizedSymbol",
        "categorizedSymbol",
        "RuleRenderer",
        "graduatedSymbol",
        "graduatedSymbol",
        "singleSymbol",
    ]
    assert [layer["temporal"] for layer in project["layers"]] == [
        False, False, False, False, False, True, False
    ]  # fmt: skip
    xmin, ymin, xmax, ymax = (
        world["pg"]
        .execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) e FROM asmdb.tiles) s"
        )
        .fetchone()
    )
    box = project["default_extent"]
    assert box[0] <= xmin and box[1] <= ymin and box[2] >= xmax and box[3] >= ymax
    assert box[2] - box[0] < (xmax - xmin) + 0.1  # zoomed to the data, not the world


@pytest.mark.qgis
def test_rendered_map_is_not_empty(world):
    render = world["seen"]["render"]
    assert Path(render["path"]).stat().st_size > 10_000
    assert render["colours"] >= 6  # several probability classes and label colours


@pytest.mark.qgis
def test_stored_project_holds_no_credentials(world):
    content = (
        world["pg"]
        .execute("SELECT content FROM asmdb.qgis_projects WHERE name = 'asmdb'")
        .fetchone()[0]
    )
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        document = archive.read(archive.namelist()[0]).decode()
    assert f"service='{world['service']}'" in document
    assert "password" not in document and "user=" not in document


@pytest.mark.qgis
def test_reader_is_refused_writes_and_other_schemas(world):
    inserted = world["layers"]["labels"]["insert"]
    assert not inserted["added"] and inserted["errors"]  # through QGIS
    assert world["layers"]["labels"]["can_add"] is False

    with psycopg.connect(_plain(world["url"]), autocommit=True) as admin:
        admin.execute("CREATE SCHEMA IF NOT EXISTS other")
        admin.execute("CREATE TABLE IF NOT EXISTS other.secret (x int)")
    reader_url = psycopg.conninfo.make_conninfo(_plain(world["url"]), user=world["reader"])
    with psycopg.connect(reader_url, autocommit=True) as reader:
        assert reader.execute("SELECT count(*) FROM asmdb.latest_predictions").fetchone()[0] > 0
        assert reader.execute("SELECT count(*) FROM public.layer_styles").fetchone()[0] >= 4
        assert reader.execute("SELECT count(*) FROM asmdb.qgis_projects").fetchone()[0] == 1
        # Even with the read-only default switched off, privileges refuse every write.
        reader.execute("SET default_transaction_read_only = off")
        for statement in (
            "INSERT INTO asmdb.labels (unique_id, lon, lat, label, geom) "
            "VALUES ('x', 0, 0, 1, 'SRID=4326;POINT(0 0)')",
            "DELETE FROM asmdb.predictions",
            "UPDATE public.layer_styles SET useasdefault = false",
            "DELETE FROM asmdb.qgis_projects",
            "CREATE TABLE asmdb.mine (x int)",
            "SELECT * FROM other.secret",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                reader.execute(statement)


@pytest.mark.qgis
def test_exports_carry_the_run_and_its_style(world):
    gpkg = world["layers"]["gpkg"]
    assert gpkg["valid"] and gpkg["renderer"] == "graduatedSymbol"
    assert gpkg["class_attribute"] == "probability"
    assert gpkg["feature_count"] == world["newest"]["counts"]["tiles_predicted"]

    frame = gpd.read_parquet(world["parquet"])
    run_1 = (
        world["pg"]
        .execute("SELECT count(*), sum(probability) FROM asmdb.predictions WHERE run_id = 1")
        .fetchone()
    )
    assert len(frame) == run_1[0] and set(frame["run_id"]) == {1}
    assert frame["probability"].sum() == pytest.approx(run_1[1])
    assert frame.crs.to_epsg() == 4326
    assert 'type="graduatedSymbol"' in world["parquet"].with_suffix(".qml").read_text()
    assert b"geo" in pq.read_schema(world["parquet"]).metadata  # GeoParquet for any Arrow reader


@pytest.mark.qgis
def test_export_of_a_missing_run_or_format_is_one_line(world, tmp_path):
    missing = invoke_asmdb(
        world["url"], "export", "predictions", str(tmp_path / "x.gpkg"), "--run", "99"
    )
    assert missing.code == 1 and missing.stderr.strip() == (
        "error: no model run 99; `asmdb runs` lists them"
    )
    wrong = invoke_asmdb(world["url"], "export", "predictions", str(tmp_path / "x.shp"))
    assert wrong.code == 1 and "must end in .gpkg or .parquet" in wrong.stderr
    assert not list(tmp_path.iterdir())


def test_a_users_own_default_style_stays_the_default(cli, pg):
    pg.execute(
        "INSERT INTO public.layer_styles (f_table_catalog, f_table_schema, f_table_name, "
        "f_geometry_column, stylename, styleqml, useasdefault) VALUES (current_database(), "
        "'asmdb', 'tiles', 'geom', 'mine', XMLPARSE(DOCUMENT '<qgis/>'), true)"
    )
    _ok(cli("qgis", "install"))
    defaults = pg.execute(
        "SELECT stylename FROM public.layer_styles WHERE f_table_name = 'tiles' AND useasdefault"
    ).fetchall()
    assert defaults == [("mine",)]
    assert pg.execute(
        "SELECT useasdefault FROM public.layer_styles WHERE f_table_name = 'labels' "
        "AND stylename = 'asmdb'"
    ).fetchone() == (True,)


def test_project_without_service_names_the_server_not_the_user(cli, db_url, pg):
    _ok(cli("qgis", "project", "--name", "field team"))
    content = pg.execute(
        "SELECT content FROM asmdb.qgis_projects WHERE name = 'field team'"
    ).fetchone()[0]
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        document = archive.read("field team.qgs").decode()
    dbname = db_url.rsplit("/", 1)[1]
    assert f"dbname='{dbname}' host='127.0.0.1' port=5432" in document
    assert "user=" not in document and "password" not in document


def test_label_style_follows_the_labels_ingested(cli, pg, sample, tmp_path):
    labels = gpd.pd.read_csv(sample.labels)
    labels.loc[labels["label"] == 1, "mine_type"] = "alluvial gold"
    path = tmp_path / "labels.csv"
    labels.to_csv(path, index=False)
    _ok(cli("ingest", "labels", str(path)))
    qml = pg.execute(
        "SELECT styleqml::text FROM public.layer_styles WHERE f_table_name = 'labels' "
        "AND stylename = 'asmdb'"
    ).fetchone()[0]
    assert 'value="mine: alluvial gold"' in qml and 'value="mine: artisanal"' not in qml


def test_roles_create_is_idempotent_and_refuses_an_admin_name(cli, db_url):
    name = f"asmdb_reader_{uuid.uuid4().hex[:6]}"
    try:
        first = _ok(cli("roles", "create", "--name", name))
        again = _ok(cli("roles", "create", "--name", name))
        assert f"role {name} created" in first.stdout and f"role {name} updated" in again.stdout
        assert "no password given" in first.stderr
    finally:
        _drop_role(name, db_url)
    admin = cli("roles", "create", "--name", "postgres")
    assert admin.code == 1 and admin.stderr.strip() == (
        "error: role 'postgres' exists with administrative rights; choose another --name"
    )


@pytest.mark.qgis
def test_a_reviewer_edits_the_queue_in_qgis(cli, db_url, pg, trained, tmp_path):
    for args in (
        ("review", "queue", "--per-stratum", "3", "--hotspots", "0", "--uncertain", "0"),
        ("qgis", "install"),
    ):
        _ok(cli(*args))
    review_id = pg.execute("SELECT min(review_id) FROM asmdb.review_queue").fetchone()[0]
    dbname = db_url.rsplit("/", 1)[1]
    seen = run_qgis(
        {
            "layers": [
                {
                    "name": "review_queue",
                    "uri": f"dbname='{dbname}' host=127.0.0.1 port=5432 user=postgres "
                    'table="asmdb"."review_queue" (geom)',
                    "update": {
                        "fid": review_id,
                        "values": {"status": "confirmed", "notes": "pits and ponds"},
                    },
                }
            ]
        },
        tmp_path,
    )
    layer = seen["layers"][0]
    assert layer["valid"] and layer["renderer"] == "categorizedSymbol"
    assert layer["class_attribute"] == "status" and "confirmed" in layer["categories"]
    assert layer["update"]["ok"], layer["update"]
    assert pg.execute(
        "SELECT status, notes FROM asmdb.review_queue WHERE review_id = %s", (review_id,)
    ).fetchone() == ("confirmed", "pits and ponds")
    labelled = _ok(cli("review", "labels"))
    assert "labels from reviews: 1 new" in labelled.stdout or "contradiction" in labelled.stdout


# Imagery of three periods: the dry season of 2019 (one file, west half, bands named blue, green,
# red, stored as reflectance x 10000 with scale 0.0001), the wet season of 2024 (two files
# tiling the east half, no data 0, a corner of it empty), and 2021 in the east half: two files
# without no data and a gap between them, and a file whose internal mask hides a black collar
# over the gap and over the east file. Names a URL or QGIS would misread.
DRY = "dry season '19"
WET = "wet&type=wms 2024"
GAPS = "gaps 2021"
MID_LON, MID_LAT = -11.18, 8.42
WEST_PROBES = [[-11.195, 8.405], [-11.19, 8.42], [-11.185, 8.435]]
EAST_PROBES = [[-11.17, 8.41], [-11.17, 8.43]]
EMPTY_CORNER = [-11.161, 8.401]
GAP_FILE, GAP, COLLAR_OVER_GAP, COLLAR_OVER_FILE = (
    [-11.178, 8.42],
    [-11.1715, 8.42],
    [-11.1705, 8.405],
    [-11.167, 8.405],
)


def _imagery_files(tmp: Path) -> tuple[Path, list[Path]]:
    dry = write_4326(tmp / "dry.tif", bounds=(WEST, SOUTH, MID_LON, NORTH))
    with rasterio.open(dry, "r+") as dst:
        dst.descriptions = ("blue", "green", "red")
        dst.scales = (0.0001,) * 3
    south = write_4326(tmp / "wet_s.tif", bounds=(MID_LON, SOUTH, EAST, MID_LAT), nodata=0)
    north = write_4326(tmp / "wet_n.tif", bounds=(MID_LON, MID_LAT, EAST, NORTH), nodata=0)
    with rasterio.open(south, "r+") as dst:
        data = dst.read()
        data[:, -8:, -8:] = 0  # the south-east corner: no data
        dst.write(data)
    return dry, [south, north]


def _gap_files(tmp: Path) -> list[Path]:
    west = write_4326(tmp / "gap_w.tif", bounds=(MID_LON, SOUTH, -11.175, NORTH))
    east = write_4326(tmp / "gap_e.tif", bounds=(-11.168, SOUTH, EAST, NORTH))
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        collar = write_4326(tmp / "collar.tif", bounds=(-11.172, SOUTH, EAST, 8.41))
        with rasterio.open(collar, "r+") as dst:
            data, mask = dst.read(), np.full((dst.height, dst.width), 255, np.uint8)
            data[:, :, :12] = 0  # black, and masked: over the gap and the east file
            mask[:, :12] = 0
            dst.write(data)
            dst.write_mask(mask)
    return [west, east, collar]


@pytest.fixture(scope="module")
def imagery_world(template_db, tmp_path_factory):
    """Two registered imagery, the project installed from their files and once more from a
    server, and one look at each through QGIS."""
    tmp = tmp_path_factory.mktemp("qgis-imagery")
    dry, wet = _imagery_files(tmp)
    service = f"asmdb_{uuid.uuid4().hex[:6]}"
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    server = f"http://127.0.0.1:{port}/asm-maps"
    with throwaway_db(template_db) as url:
        period = "--period"
        _ok(invoke_asmdb(url, "imagery", "add", DRY, str(dry), period, "2019-01-01/2019-12-31"))
        _ok(
            invoke_asmdb(
                url, "imagery", "add", WET, *map(str, wet), period, "2024-01-01/2024-12-31"
            )
        )
        gaps = map(str, _gap_files(tmp))
        _ok(invoke_asmdb(url, "imagery", "add", GAPS, *gaps, period, "2021-01-01/2021-12-31"))
        installed = _ok(invoke_asmdb(url, "qgis", "install", "--service", service))
        served = _ok(
            invoke_asmdb(url, "qgis", "project", "--name", "served", "--imagery-url", server + "/")
        )
        records = {
            r["name"]: r for r in json.loads(invoke_asmdb(url, "imagery", "list", "--json").stdout)
        }
        service_file = tmp / "pg_service.conf"
        service_file.write_text(
            f"[{service}]\nhost=127.0.0.1\nport=5432\ndbname={url.rsplit('/', 1)[1]}\nuser=postgres\n"
        )
        project = f"postgresql://?service={service}&schema=asmdb&project="
        seen = run_qgis(
            {
                "project": project + "asmdb",
                "temporal_at": ["2019-06-15", "2024-06-15", "2022-06-15"],
                "render_at": {
                    "dates": ["2019-06-15", "2024-06-15", "2021-06-15"],
                    "group": layers.IMAGERY.project_group,
                    "probes": WEST_PROBES
                    + EAST_PROBES
                    + [EMPTY_CORNER, GAP_FILE, GAP, COLLAR_OVER_GAP, COLLAR_OVER_FILE],
                },
            },
            tmp,
            service_file,
        )
        from_server = run_qgis(
            {
                "project": project + "served",
                "tile_server_port": port,
                "render_at": {"dates": ["2024-06-15"], "group": "Imagery", "probes": []},
            },
            tmp,
            service_file,
        )
        with psycopg.connect(_plain(url), autocommit=True) as pg:
            yield {
                "url": url,
                "pg": pg,
                "records": records,
                "installed": installed,
                "served": served,
                "seen": seen,
                "from_server": from_server,
                "server": server,
            }


def _imagery(project: dict) -> list[dict]:
    return [
        layer
        for layer, group in zip(project["layers"], project["groups"], strict=True)
        if group == layers.IMAGERY.project_group
    ]


@pytest.mark.qgis
@pytest.mark.slow
def test_imagery_opens_below_the_maps_newest_first_each_lasting_its_period(imagery_world):
    project = imagery_world["seen"]["project"]
    assert project["read"], imagery_world["seen"]["messages"]
    titles = [layer.project.title for layer in layers.in_project()]
    wet, dry = f"{WET} (2024-01-01/2024-12-31)", f"{DRY} (2019-01-01/2019-12-31)"
    gaps = f"{GAPS} (2021-01-01/2021-12-31)"
    assert [layer["name"] for layer in project["layers"]] == [*titles, wet, gaps, dry]
    assert project["groups"] == [""] * len(titles) + ["Imagery"] * 3
    imagery = _imagery(project)
    assert all(layer["valid"] for layer in imagery), imagery_world["seen"]["messages"]
    assert [layer["provider"] for layer in imagery] == ["gdal"] * 3
    assert {wet, gaps, dry} <= set(project["visible"])  # no Temporal Controller: newest on top
    assert [layer["temporal_mode"] for layer in imagery] == [0] * 3  # ModeFixedTemporalRange
    assert [layer["fixed_range"] for layer in imagery] == [
        ["2024-01-01T00:00:00Z", "2024-12-31T23:59:59Z"],
        ["2021-01-01T00:00:00Z", "2021-12-31T23:59:59Z"],
        ["2019-01-01T00:00:00Z", "2019-12-31T23:59:59Z"],
    ]
    assert project["temporal_at"] == {"2019-06-15": [dry], "2024-06-15": [wet], "2022-06-15": []}
    shown = "imagery, newest first: " + ", ".join([wet, gaps, dry])
    assert shown in imagery_world["installed"].stdout


@pytest.mark.qgis
@pytest.mark.slow
def test_imagery_is_true_colour_stretched_as_recorded_and_a_mosaic_of_its_files(imagery_world):
    wet, gaps, dry = _imagery(imagery_world["seen"]["project"])
    records = imagery_world["records"]
    assert dry["renderer"] == wet["renderer"] == "multibandcolor"
    assert dry["rgb"] == [3, 2, 1]  # by name: red, green, blue
    assert wet["rgb"] == [1, 2, 3]  # b1, b2, b3: the first three
    for layer, name, colours in (
        (dry, DRY, ("red", "green", "blue")),
        (wet, WET, ("b1", "b2", "b3")),
    ):
        stretch = records[name]["stretch"]
        assert layer["min_max"] == [pytest.approx(stretch[c]) for c in colours]
    assert 0 < dry["min_max"][0][0] < dry["min_max"][0][1] < 1  # reflectance, as QGIS reads it
    assert wet["extent"] == pytest.approx(records[WET]["bounds"])  # both files, one layer
    assert wet["no_data"][:3] == [0, 0, 0] and all(wet["use_no_data"][:3])
    # A mosaic's mask band is one more band to QGIS, drawn as alpha; a file without one has none.
    assert (wet["bands"], wet["alpha"], gaps["bands"], gaps["alpha"]) == (4, 4, 4, 4)
    assert (dry["bands"], dry["alpha"]) == (3, -1)
    assert dry["crs"] == wet["crs"] == "EPSG:4326"


@pytest.mark.qgis
@pytest.mark.slow
def test_a_frame_of_the_temporal_controller_draws_its_periods_imagery_only(imagery_world):
    rendered = imagery_world["seen"]["project"]["rendered_at"]
    west, east = len(WEST_PROBES), len(WEST_PROBES) + len(EAST_PROBES)
    white, black = "#ffffffff", "#ff000000"
    in_2019, in_2024 = rendered["2019-06-15"], rendered["2024-06-15"]
    assert white not in in_2019[:west] and black not in in_2019[:west]
    assert len(set(in_2019[:west])) == west  # stretched: the landscape shows, not a flat colour
    assert in_2019[west:] == [white] * (len(in_2019) - west)  # 2024 is not drawn in 2019
    assert in_2024[:west] == [white] * west
    assert white not in in_2024[west:east]  # both files of the mosaic
    assert in_2024[east] == white  # no data is transparent


@pytest.mark.qgis
@pytest.mark.slow
def test_a_gap_between_files_and_their_masked_collars_are_transparent(imagery_world):
    """Files without no data leave nothing between them, and a file's internal mask hides its
    black collar: the map shows through the gap, and the file below through the collar."""
    in_2021 = imagery_world["seen"]["project"]["rendered_at"]["2021-06-15"]
    empty = len(WEST_PROBES) + len(EAST_PROBES) + 1
    white, black = "#ffffffff", "#ff000000"
    file, gap, collar_over_gap, collar_over_file = in_2021[empty:]
    assert file not in (white, black)
    assert gap == white and collar_over_gap == white
    assert collar_over_file not in (white, black)


@pytest.mark.qgis
@pytest.mark.slow
def test_imagery_from_a_server_is_its_xyz_tiles_asked_by_name(imagery_world):
    seen = imagery_world["from_server"]
    project = seen["project"]
    assert project["read"], seen["messages"]
    imagery = _imagery(project)
    assert [layer["provider"] for layer in imagery] == ["wms"] * 3
    assert all(layer["valid"] and layer["type"] == "xyz" for layer in imagery)
    assert all(sorted(layer["params"]) == ["crs", "format", "type", "url", "zmax", "zmin"]
               for layer in imagery)  # fmt: skip
    assert [layer["fixed_range"][0] for layer in imagery] == [
        "2024-01-01T00:00:00Z",
        "2021-01-01T00:00:00Z",
        "2019-01-01T00:00:00Z",
    ]
    # A 2024 frame asks the server for the tiles of the 2024 imagery, by its name, and only them.
    asked = seen["http_requests"]
    name = "/asm-maps/imagery/wet&type=wms%202024/tiles/WebMercatorQuad/"
    assert asked and all(path.startswith(name) and path.endswith(".png") for path in asked), asked
    served = imagery_world["served"]
    assert f"{imagery_world['server']}/" not in served.stdout
    assert served.stderr == PUBLIC_ONLY + "\n"  # one line: QGIS cannot log in


def test_imagery_a_tile_url_cannot_carry_is_left_out_with_a_warning(cli, pg, tmp_path):
    path = write_4326(tmp_path / "scene.tif")
    for name in ("plain", "a?b%c"):
        _ok(cli("imagery", "add", name, str(path), "--period", "2024-01-01/2024-06-30"))
    served = _ok(cli("qgis", "install", "--imagery-url", "https://maps.example.org"))
    assert "imagery, newest first: plain (2024-01-01/2024-06-30)\n" in served.stdout
    assert served.stderr.splitlines() == [
        "warning: imagery 'a?b%c': QGIS would misread a tile URL naming it (it holds one of "
        "#%/?{}); left out of the project",
        PUBLIC_ONLY,
    ]
    files = _ok(cli("qgis", "project"))
    assert "a?b%c (2024-01-01/2024-06-30), plain (2024-01-01/2024-06-30)" in files.stdout


def test_imagery_whose_files_make_no_one_layer_is_left_out_with_a_warning(cli, pg, tmp_path):
    """Files in two CRSs (featurize reads them, warping each) make no one VRT, and a file gone
    since registration cannot be read: the project is written without that imagery, and says
    so, one line each."""
    utm = write_utm(tmp_path / "utm.tif", bounds=(WEST, SOUTH, MID_LON, NORTH))
    wgs84 = write_4326(tmp_path / "wgs84.tif", bounds=(MID_LON, SOUTH, EAST, NORTH))
    gone = write_4326(tmp_path / "gone.tif")
    period = ("--period", "2024-01-01/2024-06-30")
    _ok(cli("imagery", "add", "mixed", str(utm), str(wgs84), *period))
    _ok(cli("imagery", "add", "gone", str(gone), *period))
    gone.unlink()
    done = _ok(cli("qgis", "install"))
    assert "imagery, newest first" not in done.stdout
    warnings = done.stderr.strip().splitlines()
    assert len(warnings) == 2, warnings
    assert warnings[0].startswith(f"warning: imagery 'gone': {gone} cannot be read")
    assert warnings[1].startswith("warning: imagery 'mixed': ") and "no mosaic" in warnings[1]
    assert pg.execute("SELECT count(*) FROM asmdb.qgis_projects").fetchone() == (1,)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "http://maps.example.org/a'b",
        'http://maps.example.org/"',
        "http://maps.example.org/a b",
        "http://maps.example.org/?type=wms",
        "http://maps.example.org/#x",
        "http://user@maps.example.org",
        "http://maps.example.org:99999",
        "http://maps.example.org/\nx",
        "maps.example.org",
    ],
)
def test_an_imagery_url_that_is_not_a_plain_http_address_is_refused_in_one_line(cli, pg, url):
    before = snapshot(pg)
    for command in ("install", "project"):
        done = cli("qgis", command, "--imagery-url", url)
        assert done.code == 1, done.stdout
        assert (
            done.stderr.startswith("error: --imagery-url ") and len(done.stderr.splitlines()) == 1
        )
    assert snapshot(pg) == before


def test_imagery_whose_band_names_hold_control_characters_is_left_out_with_a_warning(
    cli, pg, tmp_path
):
    """Band names go into a mosaic's VRT, the layer's source in the project: one holding a
    character XML cannot carry (GeoTIFF keeps U+FFFE) would make the whole .qgs unreadable."""
    halves = [
        write_4326(tmp_path / "w.tif", bounds=(WEST, SOUTH, MID_LON, NORTH)),
        write_4326(tmp_path / "e.tif", bounds=(MID_LON, SOUTH, EAST, NORTH)),
    ]
    for path in halves:
        with rasterio.open(path, "r+") as dst:
            dst.descriptions = ("blue", "green", "red\ufffe")
    period = ("--period", "2024-01-01/2024-06-30")
    _ok(cli("imagery", "add", "odd bands", *map(str, halves), *period))
    _ok(cli("imagery", "add", "plain", str(write_4326(tmp_path / "plain.tif")), *period))
    done = _ok(cli("qgis", "install"))
    assert "imagery, newest first: plain (2024-01-01/2024-06-30)\n" in done.stdout
    assert done.stderr.splitlines() == [
        "warning: imagery 'odd bands': its name, files or band names hold control characters; "
        "left out of the project"
    ]
    content = pg.execute("SELECT content FROM asmdb.qgis_projects WHERE name = 'asmdb'").fetchone()[
        0
    ]
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        document = ET.fromstring(archive.read("asmdb.qgs"))  # well-formed XML
    names = [layer.findtext("layername") for layer in document.iter("maplayer")]
    assert "plain (2024-01-01/2024-06-30)" in names
    assert not [name for name in names if name.startswith("odd bands")]


@pytest.mark.slow
def test_imagery_tiles_the_project_names_need_a_public_server(cli, db_url, pg, tmp_path):
    """QGIS asks for the tiles with no session: the tile URL the project holds answers 401
    from an `asmdb serve` without --public and 200 from one with it."""
    path = write_4326(tmp_path / "scene.tif")
    _ok(cli("imagery", "add", "scene", str(path), "--period", "2024-01-01/2024-06-30"))
    reader = f"asmdb_reader_{uuid.uuid4().hex[:6]}"
    _ok(cli("roles", "create", "--name", reader))
    tile = morecantile.tms.get("WebMercatorQuad").tile(MID_LON, MID_LAT, 14)
    try:
        with (
            serve(as_role(db_url, reader)) as private,
            serve(as_role(db_url, reader), "--public") as public,
        ):
            answers = {}
            for name, server in (("private", private), ("public", public)):
                done = _ok(cli("qgis", "project", "--name", name, "--imagery-url", server.url))
                assert done.stderr == PUBLIC_ONLY + "\n"
                content = pg.execute(
                    "SELECT content FROM asmdb.qgis_projects WHERE name = %s", (name,)
                ).fetchone()[0]
                with zipfile.ZipFile(io.BytesIO(content)) as archive:
                    document = ET.fromstring(archive.read(f"{name}.qgs"))
                (source,) = [
                    layer.findtext("datasource")
                    for layer in document.iter("maplayer")
                    if layer.findtext("provider") == "wms"
                ]
                (template,) = parse_qs(source)["url"]  # as QGIS decodes it
                assert template.startswith(server.url + "/imagery/scene/tiles/")
                url = template.format(z=tile.z, x=tile.x, y=tile.y)
                answers[name] = httpx.get(url, timeout=60)
    finally:
        _drop_role(reader, db_url)
    assert answers["private"].status_code == 401
    assert answers["public"].status_code == 200
    assert answers["public"].headers["content-type"] == "image/png"
