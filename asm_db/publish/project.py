"""The QGIS project stored in the database: Project > Open From > PostgreSQL > `asmdb`.

The project is written as QGIS writes one (a .qgz archive in `asmdb.qgis_projects`), with the
label layer on top of the latest probability map and the tiles, each styled like its default
style, and below them the registered imagery (`asm_db.publish.project_imagery`), zoomed to the
data. Layer sources name a `pg_service.conf` service or the server, never a user or password,
so every reader connects with their own credentials.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import psycopg
from sqlalchemy.engine import Engine

from asm_db import layers
from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError
from asm_db.imagery.registry import imagery_records
from asm_db.layers import IMAGERY
from asm_db.publish import qml
from asm_db.publish.project_imagery import ImageryLayer, check_tiles_url, imagery_layers
from asm_db.publish.styles import GEOMETRY_COLUMN, SCHEMA, install_styles, layer_styles

DEFAULT_PROJECT = "asmdb"
# Sierra Leone, for a project made before any data is loaded.
EMPTY_EXTENT = (-13.4, 6.8, -10.2, 10.1)
WGS84_PROJ = "+proj=longlat +datum=WGS84 +no_defs"
SERVICE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,63}")


def _quoted(value: str) -> str:
    """A value of a QGIS data source URI, quoted as QgsDataSourceUri quotes it."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class LayerSource:
    """Where QGIS finds a layer: the connection part of a PostGIS data source, without secrets."""

    service: str | None = None
    host: str | None = None
    port: int | None = None
    dbname: str | None = None

    def __post_init__(self) -> None:
        if self.service is not None and not SERVICE_NAME.fullmatch(self.service):
            raise AsmdbError(
                f"service name {self.service!r} is not a pg_service.conf section name "
                "(letters, digits, '_', '-' and '.', at most 63)"
            )

    def connection(self) -> str:
        parts = []
        if self.service:
            parts.append(f"service={_quoted(self.service)}")
        if self.dbname:
            parts.append(f"dbname={_quoted(self.dbname)}")
        if not self.service:
            if self.host:
                parts.append(f"host={_quoted(self.host)}")
            if self.port:
                parts.append(f"port={int(self.port)}")
        return " ".join(parts)

    def datasource(self, table: str, key: str, geometry_type: str, subset: str = "") -> str:
        # checkPrimaryKeyUnicity=0: the keys are unique by construction, so QGIS need not
        # count them. `subset` is the layer's filter (QGIS's "sql=" part, always last).
        return (
            f"{self.connection()} key='{key}' checkPrimaryKeyUnicity='0' estimatedmetadata=true "
            f'srid=4326 type={geometry_type} table="{SCHEMA}"."{table}" ({GEOMETRY_COLUMN})'
            + (f" sql={subset}" if subset else "")
        )


# Top of the legend first (`asm_db.layers` orders them): QGIS draws the layer tree bottom-up,
# so labels sit above the map.
PROJECT_LAYERS = layers.in_project()


@dataclass(frozen=True)
class ProjectResult:
    name: str
    layers: list[str]
    extent: tuple[float, float, float, float]
    size: int
    imagery: list[str] = field(default_factory=list)  # the imagery layers' titles
    imagery_left_out: list[str] = field(default_factory=list)  # one line each: name and why


def _crs(parent: ET.Element) -> None:
    srs = ET.SubElement(parent, "spatialrefsys")
    for tag, text in (
        ("proj4", WGS84_PROJ),
        ("srsid", "3452"),  # QGIS's own id of WGS 84: with it QGIS trusts the authid
        ("srid", "4326"),
        ("authid", "EPSG:4326"),
        ("description", "WGS 84"),
        ("projectionacronym", "longlat"),
        ("ellipsoidacronym", "EPSG:7030"),
        ("geographicflag", "true"),
    ):
        ET.SubElement(srs, tag).text = text


def _temporal(map_layer: ET.Element) -> None:
    """A layer the Temporal Controller steps through: each feature lasts from its
    period_start to its period_end, both days included (as QGIS 3.22 writes it)."""
    temporal = ET.SubElement(
        map_layer,
        "temporal",
        enabled="1",
        mode="2",  # ModeFeatureDateTimeStartAndEndFromFields
        startField="period_start",
        endField="period_end",
        limitMode="1",  # IncludeBeginIncludeEnd: period_end is the period's last day
        accumulate="0",
        durationField="",
        durationUnit="min",
        fixedDuration="0",
        startExpression="",
        endExpression="",
    )
    fixed = ET.SubElement(temporal, "fixedRange")
    ET.SubElement(fixed, "start")
    ET.SubElement(fixed, "end")


def _fixed_temporal(map_layer: ET.Element, period: tuple[date, date]) -> None:
    """A raster layer the Temporal Controller shows from the first to the end of the last day
    of `period` (ModeFixedTemporalRange, as QGIS 3.22 writes it)."""
    temporal = ET.SubElement(map_layer, "temporal", enabled="1", mode="0", fetchMode="0")
    fixed = ET.SubElement(temporal, "fixedRange")
    ET.SubElement(fixed, "start").text = f"{period[0].isoformat()}T00:00:00Z"
    ET.SubElement(fixed, "end").text = f"{period[1].isoformat()}T23:59:59Z"


def _imagery_layer(group: ET.Element, layers: ET.Element, imagery: ImageryLayer) -> None:
    """One imagery: a node of the legend's imagery group and its raster map layer."""
    node = ET.SubElement(
        group,
        "layer-tree-layer",
        id=imagery.layer_id,
        name=imagery.title,
        source=imagery.datasource,
        providerKey=imagery.provider,
        checked="Qt::Checked",
        expanded="0",
    )
    ET.SubElement(node, "customproperties")
    map_layer = ET.SubElement(
        layers, "maplayer", type="raster", styleCategories="AllStyleCategories"
    )
    ET.SubElement(map_layer, "id").text = imagery.layer_id
    ET.SubElement(map_layer, "datasource").text = imagery.datasource
    ET.SubElement(map_layer, "layername").text = imagery.title
    # QGIS takes a layer's CRS from the project, not from its source.
    srs = ET.SubElement(ET.SubElement(map_layer, "srs"), "spatialrefsys")
    is_code = imagery.crs.startswith("EPSG:")
    ET.SubElement(srs, "authid" if is_code else "wkt").text = imagery.crs
    ET.SubElement(map_layer, "provider").text = imagery.provider
    no_data = ET.SubElement(map_layer, "noData")
    for band in range(1, imagery.bands + 1):  # the files' own no-data value is transparent
        ET.SubElement(no_data, "noDataList", bandNo=str(band), useSrcNoData="1")
    if imagery.period is not None:
        _fixed_temporal(map_layer, imagery.period)
    if imagery.rgb is not None:
        map_layer.append(qml.true_colour_pipe(imagery.rgb, imagery.ranges, alpha=imagery.alpha))
    else:
        map_layer.append(qml.tile_colour_pipe())
    ET.SubElement(map_layer, "blendMode").text = "0"


def _extent(parent: ET.Element, tag: str, extent: tuple[float, float, float, float]) -> None:
    box = ET.SubElement(parent, tag)
    for name, value in zip(("xmin", "ymin", "xmax", "ymax"), extent, strict=True):
        ET.SubElement(box, name).text = repr(float(value))


def project_document(
    source: LayerSource,
    extent: tuple[float, float, float, float],
    styles: dict[str, str],
    title: str = DEFAULT_PROJECT,
    imagery: Sequence[ImageryLayer] = (),
) -> str:
    """The .qgs XML of the asmdb project; `styles` maps a table to its QML, `imagery` is
    drawn below the maps, first on top."""
    root = ET.Element("qgis", projectname=title, version="3.22.0")
    ET.SubElement(root, "title").text = title
    _crs(ET.SubElement(root, "projectCrs"))

    tree = ET.SubElement(root, "layer-tree-group")
    ET.SubElement(tree, "customproperties")
    layers = ET.SubElement(root, "projectlayers")
    for layer in PROJECT_LAYERS:
        shown = layer.project
        layer_id = f"asmdb_{layer.table}"
        datasource = source.datasource(layer.table, layer.key, layer.geometry_type, shown.subset)
        node = ET.SubElement(
            tree,
            "layer-tree-layer",
            id=layer_id,
            name=shown.title,
            source=datasource,
            providerKey="postgres",
            checked="Qt::Checked" if shown.visible else "Qt::Unchecked",
            expanded="1",
        )
        ET.SubElement(node, "customproperties")

        map_layer = ET.SubElement(
            layers,
            "maplayer",
            type="vector",
            geometry=layer.geometry_type,
            wkbType=layer.geometry_type,
            styleCategories="AllStyleCategories",
        )
        ET.SubElement(map_layer, "id").text = layer_id
        ET.SubElement(map_layer, "datasource").text = datasource
        ET.SubElement(map_layer, "layername").text = shown.title
        _crs(ET.SubElement(map_layer, "srs"))
        ET.SubElement(map_layer, "provider", encoding="").text = "postgres"
        map_layer.append(qml.renderer_element(styles[layer.table]))
        if shown.temporal:
            _temporal(map_layer)
        ET.SubElement(map_layer, "blendMode").text = "0"
        ET.SubElement(map_layer, "featureBlendMode").text = "0"
        ET.SubElement(map_layer, "layerOpacity").text = "1"

    if imagery:
        # Every imagery is checked: without the Temporal Controller the newest, on top, is
        # what shows; with it, each frame shows the imagery of its period.
        group = ET.SubElement(
            tree,
            "layer-tree-group",
            name=IMAGERY.project_group,
            checked="Qt::Checked",
            expanded="1",
        )
        ET.SubElement(group, "customproperties")
        for each in imagery:
            _imagery_layer(group, layers, each)

    # Without ProjectionsEnabled QGIS reads the project as having no CRS at all.
    properties = ET.SubElement(root, "properties")
    spatial = ET.SubElement(properties, "SpatialRefSys")
    ET.SubElement(spatial, "ProjectionsEnabled", type="int").text = "1"
    view = ET.SubElement(root, "ProjectViewSettings", UseProjectScales="0", rotation="0")
    default_view = ET.SubElement(
        view,
        "DefaultViewExtent",
        {k: repr(float(v)) for k, v in zip(("xmin", "ymin", "xmax", "ymax"), extent, strict=True)},
    )
    _crs(default_view)

    canvas = ET.SubElement(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
    ET.SubElement(canvas, "units").text = "degrees"
    _extent(canvas, "extent", extent)
    ET.SubElement(canvas, "rotation").text = "0"
    _crs(ET.SubElement(canvas, "destinationsrs"))
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(
        root, encoding="unicode"
    )


def qgz(document: str, name: str) -> bytes:
    """The document packed as QGIS packs a .qgz (a zip holding NAME.qgs)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{name}.qgs", document)
    return buffer.getvalue()


def data_extent(pg: psycopg.Connection, margin: float = 0.02) -> tuple[float, float, float, float]:
    row = pg.execute(load_sql("publish/data_extent")).fetchone()
    if row is None or row[0] is None:
        return EMPTY_EXTENT
    xmin, ymin, xmax, ymax = row
    return (xmin - margin, ymin - margin, xmax + margin, ymax + margin)


def save_project(
    pg: psycopg.Connection,
    source: LayerSource,
    name: str = DEFAULT_PROJECT,
    imagery: tuple[list[ImageryLayer], list[str]] = ([], []),
) -> ProjectResult:
    """Write (or rewrite) the stored project `name` in the caller's transaction, with the
    imagery layers of `project_imagery` (and the lines saying which were left out)."""
    extent = data_extent(pg)
    styles = {style.table: style.qml for style in layer_styles(pg)}
    imagery, left_out = imagery
    document = project_document(source, extent, styles, title=name, imagery=imagery)
    content = qgz(document, name)
    pg.execute(load_sql("publish/qgis_project_save"), {"name": name, "content": content})
    return ProjectResult(
        name,
        [f"{SCHEMA}.{layer.table}" for layer in PROJECT_LAYERS],
        extent,
        len(content),
        [layer.title for layer in imagery],
        left_out,
    )


def layer_source(engine: Engine, service: str | None = None) -> LayerSource:
    """The layer source for QGIS users: a service name, else the host, port and database."""
    url = engine.url
    if service:
        return LayerSource(service=service)
    return LayerSource(host=url.host, port=url.port, dbname=url.database)


def project_imagery(
    engine: Engine, imagery_url: str | None = None
) -> tuple[list[ImageryLayer], list[str]]:
    """The registered imagery as project layers, and a line for each left out: the registry is
    read first, then the files' headers (over the network for URLs), in no transaction."""
    with connect(engine) as conn:
        check_ready(conn)
        records = imagery_records(driver(conn))
    return imagery_layers(records, imagery_url)


def build_project(
    engine: Engine,
    *,
    service: str | None = None,
    name: str = DEFAULT_PROJECT,
    imagery_url: str | None = None,
) -> ProjectResult:
    """Rebuild the stored QGIS project from the data in the database."""
    if imagery_url is not None:
        imagery_url = check_tiles_url(imagery_url)  # before anything is read
    imagery = project_imagery(engine, imagery_url)
    with connect(engine) as conn:
        check_ready(conn)
        return save_project(driver(conn), layer_source(engine, service), name, imagery)


def install_qgis(
    engine: Engine,
    *,
    service: str | None = None,
    name: str = DEFAULT_PROJECT,
    imagery_url: str | None = None,
) -> tuple[list[str], ProjectResult]:
    """Write the default styles and the stored project, in one transaction."""
    if imagery_url is not None:
        imagery_url = check_tiles_url(imagery_url)
    imagery = project_imagery(engine, imagery_url)
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        styled = install_styles(pg)
        return styled, save_project(pg, layer_source(engine, service), name, imagery)
