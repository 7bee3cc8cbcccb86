"""A real QGIS client, run headless by Debian's /usr/bin/python3 (PyQGIS does not import in a
venv). It opens layers, files and stored projects as a user would and prints what it saw as JSON.

Usage: qgis_client.py SPEC.json  (see tests/test_qgis.py and scripts/qgis-snapshot)
  {"layers": [{"name": ..., "uri": ..., "provider": "postgres"|"ogr"}],
   "rasters": [{"name": ..., "uri": "GPKG:file.gpkg:table", "points": [[x, y], ...]}],
   "project": "postgresql://?service=...&schema=asmdb&project=asmdb",
   "render": "out.png", "size": [900, 700],
   "edit": {"layer": name, "feature": {...}},
   "temporal_at": ["2019-06-01", ...],
   "render_at": {"dates": [...], "group": legend group, "probes": [[lon, lat], ...]},
   "tile_server_port": N}  (answers 404 on 127.0.0.1:N and lists the paths asked)
"""

import http.server
import json
import os
import sys
import tempfile
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Settings (and any saved password) stay out of the user's own QGIS profile.
_profile = tempfile.mkdtemp(prefix="asmdb-qgis-")
os.environ.setdefault("XDG_CONFIG_HOME", _profile)
os.environ.setdefault("XDG_DATA_HOME", _profile)
os.environ.setdefault("XDG_RUNTIME_DIR", _profile)

from qgis.core import (  # noqa: E402
    QgsApplication,
    QgsDataSourceUri,
    QgsDateTimeRange,
    QgsFeature,
    QgsGeometry,
    QgsMapLayerType,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsPointXY,
    QgsProject,
    QgsRaster,
    QgsRasterLayer,
    QgsRectangle,
    QgsSymbolLayer,
    QgsVectorDataProvider,
    QgsVectorLayer,
    QgsVectorLayerTemporalContext,
)
from qgis.PyQt.QtCore import QDate, QDateTime, QSize, Qt, QTime  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402

messages = []
requests_seen = []


class _TileServer(http.server.BaseHTTPRequestHandler):
    """A tile server with no tiles: it notes the path each request asks for."""

    def do_GET(self):
        requests_seen.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


def serve_no_tiles(port):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _TileServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()


def _log(message, tag, level):
    messages.append(f"{tag}: {message}")


def describe_raster(layer):
    """What a user would see of a raster layer: source, bands, colours, no data, time."""
    out = {"name": layer.name(), "valid": layer.isValid(), "provider": layer.providerType()}
    temporal = layer.temporalProperties()
    fixed = temporal.fixedTemporalRange()
    out.update(
        temporal=temporal.isActive(),
        temporal_mode=int(temporal.mode()),
        fixed_range=[fixed.begin().toString(Qt.ISODate), fixed.end().toString(Qt.ISODate)],
    )
    if layer.providerType() == "wms":
        uri = QgsDataSourceUri()
        uri.setEncodedUri(layer.source())
        keys = [item.split("=", 1)[0] for item in layer.source().split("&")]
        out.update(type=uri.param("type"), url=uri.param("url"), params=keys)
    if not layer.isValid():
        return out
    provider = layer.dataProvider()
    renderer = layer.renderer()
    out.update(
        crs=layer.crs().authid(),
        extent=_box(layer.extent()),
        bands=layer.bandCount(),
        renderer=renderer.type() if renderer else None,
        no_data=[
            provider.sourceNoDataValue(b) if provider.sourceHasNoDataValue(b) else None
            for b in range(1, layer.bandCount() + 1)
        ],
        use_no_data=[provider.useSourceNoDataValue(b) for b in range(1, layer.bandCount() + 1)],
    )
    if renderer and renderer.type() == "multibandcolor":
        enhancements = (
            renderer.redContrastEnhancement(),
            renderer.greenContrastEnhancement(),
            renderer.blueContrastEnhancement(),
        )
        out["rgb"] = [renderer.redBand(), renderer.greenBand(), renderer.blueBand()]
        out["alpha"] = renderer.alphaBand()
        out["min_max"] = [[e.minimumValue(), e.maximumValue()] for e in enhancements]
    return out


def _day(text, end=False):
    return QDateTime(
        QDate.fromString(text, "yyyy-MM-dd"), QTime(23, 59, 59) if end else QTime(0, 0)
    )


def describe(layer):
    """What a user would see of a layer: validity, size, CRS, geometry, style, rights."""
    if layer.type() == QgsMapLayerType.RasterLayer:
        return describe_raster(layer)
    out = {"name": layer.name(), "valid": layer.isValid()}
    if not layer.isValid():
        return out
    renderer = layer.renderer()
    out.update(
        feature_count=layer.featureCount(),
        crs=layer.crs().authid(),
        geometry=layer.geometryType(),
        wkb_type=layer.wkbType(),
        renderer=renderer.type() if renderer else None,
        fields=[f.name() for f in layer.fields()],
        can_add=bool(layer.dataProvider().capabilities() & QgsVectorDataProvider.AddFeatures),
    )
    if renderer and renderer.type() == "graduatedSymbol":
        out["class_attribute"] = renderer.classAttribute()
        out["ranges"] = [[r.lowerValue(), r.upperValue()] for r in renderer.ranges()]
        out["range_colors"] = [r.symbol().color().name() for r in renderer.ranges()]
        out["outline_styles"] = [
            r.symbol().symbolLayer(0).properties().get("outline_style") for r in renderer.ranges()
        ]
        # Symbol layers drawn only where an expression holds (their data-defined "enabled").
        ranges = renderer.ranges()  # kept: the symbols live as long as the ranges
        out["conditional_layers"] = [
            [
                [
                    symbol_layer.properties().get("outline_color"),
                    symbol_layer.dataDefinedProperties()
                    .property(QgsSymbolLayer.PropertyLayerEnabled)
                    .expressionString(),
                ]
                for symbol_layer in r.symbol().symbolLayers()
                if symbol_layer.dataDefinedProperties()
                .property(QgsSymbolLayer.PropertyLayerEnabled)
                .isActive()
            ]
            for r in ranges
        ]
    if renderer and renderer.type() == "categorizedSymbol":
        out["class_attribute"] = renderer.classAttribute()
        out["categories"] = [c.value() for c in renderer.categories()]
    if renderer and renderer.type() == "singleSymbol":
        out["symbol"] = renderer.symbol().symbolLayer(0).properties()
    out["temporal"] = layer.temporalProperties().isActive()
    return out


def identify_raster(layer, points):
    """What a user would see of a raster file's layer: validity, bands, CRS, size, renderer,
    and the values the Identify tool gives at `points` (band number to value)."""
    out = {"name": layer.name(), "valid": layer.isValid()}
    if not layer.isValid():
        return out
    provider = layer.dataProvider()
    out.update(
        bands=layer.bandCount(),
        crs=layer.crs().authid(),
        width=layer.width(),
        height=layer.height(),
        renderer=layer.renderer().type() if layer.renderer() else None,
        values=[
            {
                str(band): value
                for band, value in provider.identify(
                    QgsPointXY(x, y), QgsRaster.IdentifyFormatValue
                )
                .results()
                .items()
            }
            for x, y in points
        ],
    )
    return out


def temporal_frames(layer, frames):
    """What the Temporal Controller would show in each frame [start, end] (ISO dates): the
    feature count and the distinct values of period_start."""
    from qgis.core import QgsDateTimeRange, QgsFeatureRequest

    context = QgsVectorLayerTemporalContext()
    context.setLayer(layer)
    shown = []
    for start, end in frames:
        span = QgsDateTimeRange(
            QDateTime(QDate.fromString(start, "yyyy-MM-dd"), QTime(0, 0)),
            QDateTime(QDate.fromString(end, "yyyy-MM-dd"), QTime(23, 59, 59)),
        )
        expression = layer.temporalProperties().createFilterString(context, span)
        features = list(layer.getFeatures(QgsFeatureRequest().setFilterExpression(expression)))
        periods = sorted({f["period_start"].toString("yyyy-MM-dd") for f in features})
        shown.append({"filter": expression, "count": len(features), "periods": periods})
    return shown


def _box(rect):
    return [rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum()]


def render(layers, extent, path, size):
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(layers[0].crs())
    settings.setExtent(extent)
    settings.setOutputSize(QSize(*size))
    settings.setBackgroundColor(QColor(255, 255, 255))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    image.save(path, "PNG")
    colours = set()
    step = max(1, image.width() // 60)
    for x in range(0, image.width(), step):
        for y in range(0, image.height(), step):
            colours.add(image.pixel(x, y))
    return {"path": path, "width": image.width(), "height": image.height(), "colours": len(colours)}


def render_probes(layers, day, probes, size=(400, 400)):
    """Render `layers` as the Temporal Controller would on `day` and read the colour (#aarrggbb)
    at each [lon, lat] of `probes` (white: nothing drawn there)."""
    extent = QgsRectangle()
    for layer in layers:
        extent.combineExtentWith(layer.extent())
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(layers[0].crs())
    settings.setExtent(extent)
    settings.setOutputSize(QSize(*size))
    settings.setBackgroundColor(QColor(255, 255, 255))
    settings.setIsTemporal(True)
    settings.setTemporalRange(QgsDateTimeRange(_day(day), _day(day, end=True)))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    to_pixel = settings.mapToPixel()
    colours = []
    for lon, lat in probes:
        point = to_pixel.transform(QgsPointXY(lon, lat))
        colours.append(QColor(image.pixel(int(point.x()), int(point.y()))).name(QColor.HexArgb))
    return colours


def try_insert(layer, values):
    """Add a feature through the layer, as an editing user would; returns whether it landed."""
    feature = QgsFeature(layer.fields())
    for name, value in values.items():
        if name == "wkt":
            feature.setGeometry(QgsGeometry.fromWkt(value))
        else:
            feature.setAttribute(name, value)
    ok = layer.dataProvider().addFeatures([feature])
    return {"added": bool(ok and ok[0]), "errors": layer.dataProvider().errors()}


def main(spec):
    app = QgsApplication([], False)
    app.initQgis()
    QgsApplication.messageLog().messageReceived.connect(_log)
    result = {"qgis_version": QgsApplication.instance().applicationVersion()}
    if spec.get("tile_server_port"):
        serve_no_tiles(spec["tile_server_port"])
    kept = []  # layers must outlive their renderers

    layers = []
    for entry in spec.get("layers", []):
        layer = QgsVectorLayer(entry["uri"], entry["name"], entry.get("provider", "postgres"))
        kept.append(layer)
        layers.append(describe(layer))
        if entry.get("insert") and layer.isValid():
            layers[-1]["insert"] = try_insert(layer, entry["insert"])
        if entry.get("update") and layer.isValid():
            fid, values = entry["update"]["fid"], entry["update"]["values"]
            changes = {layer.fields().indexOf(k): v for k, v in values.items()}
            ok = layer.dataProvider().changeAttributeValues({fid: changes})
            layers[-1]["update"] = {"ok": bool(ok), "errors": layer.dataProvider().errors()}
    result["layers"] = layers
    rasters = []
    for entry in spec.get("rasters", []):
        layer = QgsRasterLayer(entry["uri"], entry["name"], "gdal")
        kept.append(layer)
        rasters.append(identify_raster(layer, entry.get("points", [])))
    result["rasters"] = rasters

    if spec.get("project"):
        project = QgsProject.instance()
        ok = project.read(spec["project"])
        nodes = project.layerTreeRoot().findLayers()
        tree = [node.layer() for node in nodes]
        result["project"] = {
            "read": ok,
            "title": project.title(),
            "crs": project.crs().authid(),
            "default_extent": _box(project.viewSettings().defaultViewExtent()),
            "layers": [describe(layer) for layer in tree],
            "groups": [node.parent().name() for node in nodes],
            "visible": [
                node.layer().name()
                for node in project.layerTreeRoot().findLayers()
                if node.isVisible()
            ],
        }
        if spec.get("temporal_frames"):
            result["project"]["temporal_frames"] = {
                layer.name(): temporal_frames(layer, spec["temporal_frames"])
                for layer in tree
                if layer.isValid() and layer.temporalProperties().isActive()
            }
        if spec.get("temporal_at"):
            result["project"]["temporal_at"] = {
                day: [
                    layer.name()
                    for layer in tree
                    if layer.type() == QgsMapLayerType.RasterLayer
                    and layer.temporalProperties().isVisibleInTemporalRange(
                        QgsDateTimeRange(_day(day), _day(day, end=True))
                    )
                ]
                for day in spec["temporal_at"]
            }
        if spec.get("render_at"):
            at = spec["render_at"]
            drawn = [
                node.layer()
                for node in nodes
                if node.parent().name() == at["group"] and node.isVisible()
            ]
            result["project"]["rendered_at"] = {
                day: render_probes(drawn, day, at["probes"]) for day in at["dates"]
            }
        if spec.get("render"):
            visible = [
                node.layer()
                for node in project.layerTreeRoot().findLayers()
                if node.isVisible() and node.layer().isValid()
            ]
            extent = QgsRectangle()
            for layer in visible:
                extent.combineExtentWith(layer.extent())
            extent.scale(1.05)
            result["render"] = render(visible, extent, spec["render"], spec.get("size", [900, 700]))
    elif spec.get("render") and kept:
        valid = [layer for layer in kept if layer.isValid()]
        extent = QgsRectangle()
        for layer in valid:
            extent.combineExtentWith(layer.extent())
        result["render"] = render(valid, extent, spec["render"], spec.get("size", [900, 700]))

    result["http_requests"] = sorted(set(requests_seen))
    result["messages"] = messages[-20:]
    print(json.dumps(result), flush=True)
    # PyQGIS can crash while tearing down providers at exit; everything is reported by now.
    os._exit(0)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as handle:
        main(json.load(handle))
