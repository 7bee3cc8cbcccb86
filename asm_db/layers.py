"""What asmdb publishes, declared once: one record per layer, read by the web server (its
catalog, access rule, keys and tile cache), the QGIS styles and project, the anonymous web
role's grants and the web page (through `/api/config`).

A layer is a table or view of the `asmdb` schema. It is served by the OGC API or not, readable
by anonymous visitors of a public server or only with a login, and drawn by the page in one of
the `WEB_KINDS`; the order of `LAYERS` is the order in which the page draws them (later on
top) and the dependency order of their SQL files. Nothing but the class definitions is
imported here, so every part of asmdb may read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from asm_db import probability_classes
from asm_db.change import classes as change_classes

SCHEMA = "asmdb"
# What the page can draw (a MapLibre layer type); add a kind here and in app.js's drawing.
WEB_KINDS = ("fill", "line", "circle")
# What a click on a drawn layer shows, in app.js: a map tile's popup, a change tile's or a
# zone's estimates.
POPUPS = ("tile", "change", "zone")
# What the QGIS style of a layer is (a function of `asm_db.publish.qml` each).
STYLES = ("probability", "blocks", "change", "zones", "labels", "tiles", "review", "similar")


@dataclass(frozen=True)
class WebLayer:
    """How the web page draws a layer."""

    id: str  # the page's name for it (its checkbox's data-layer)
    title: str  # the checkbox's words
    kind: str  # one of WEB_KINDS
    paint: dict  # MapLibre paint properties
    hidden: bool = False  # unchecked when the page opens
    overviews: str | None = None  # collection drawn at country zooms instead (its blocks)
    overview_paint: dict | None = None  # how its blocks are drawn (a fill)
    by_period: bool = False  # shows the period chosen on the slider
    popup: str | None = None  # one of POPUPS
    reload_after_review: bool = False  # a review answer changes its tiles

    def __post_init__(self) -> None:
        if self.kind not in WEB_KINDS:
            raise ValueError(f"web layer {self.id}: kind {self.kind!r} is not one of {WEB_KINDS}")
        if self.popup is not None and self.popup not in POPUPS:
            raise ValueError(f"web layer {self.id}: popup {self.popup!r} is not one of {POPUPS}")
        if (self.overviews is None) != (self.overview_paint is None):
            raise ValueError(f"web layer {self.id}: overviews and overview_paint go together")


@dataclass(frozen=True)
class ProjectLayer:
    """How the stored QGIS project shows a layer."""

    title: str
    visible: bool = True
    temporal: bool = False  # QGIS's temporal properties from period_start / period_end
    subset: str = ""  # a filter on the layer's rows (QGIS's provider subset string)


@dataclass(frozen=True)
class Layer:
    table: str  # table or view in the asmdb schema
    key: str  # its unique integer key (QGIS and tipg need one; views have no primary key)
    geometry_type: str  # "Polygon" or "Point", as QGIS names it
    style: str  # one of STYLES
    style_description: str  # the QGIS style's description
    served: bool = False  # in the OGC API's catalog
    public: bool = False  # anonymous visitors of a public server may read it
    tile_cached: bool = False  # its tiles change only with a promotion (the server keeps them)
    sql_file: str | None = None  # the replaceable SQL (sql/schema/NNN_<name>.sql) making the view
    project_order: int | None = None  # place in the QGIS project's legend, 1 on top
    project: ProjectLayer | None = None
    tile_properties: tuple[str, ...] = ()  # the columns the page asks of its tiles
    web: WebLayer | None = None

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ValueError(f"layer {self.table}: style {self.style!r} is not one of {STYLES}")
        if (self.project_order is None) != (self.project is None):
            raise ValueError(f"layer {self.table}: project and project_order go together")
        if self.public and not self.served:
            raise ValueError(f"layer {self.table}: a public layer must be served")

    @property
    def collection_id(self) -> str:
        """The OGC API's id of the layer: "asmdb.<table>"."""
        return f"{SCHEMA}.{self.table}"


def probability_paint() -> dict:
    """Tiles coloured by probability class, as the QGIS style colours them."""
    return {"fill-color": probability_classes.maplibre_step(), "fill-opacity": 0.85}


# A block of tiles (the country zooms) is drawn in the class of its tiles' mean probability: the
# probabilities are calibrated, so that is the share of its tiles expected to be mining. Its
# highest probability made a district of a few hot tiles look mined wall to wall. A block that
# holds a tile of the top class is outlined in that class's colour, so the hottest tiles stay
# findable. The QGIS style of the blocks (`asm_db.publish.qml.blocks_qml`) follows this rule.
BLOCK_COLOR_PROPERTY = "probability_mean"
BLOCK_HOT_PROPERTY = "probability"  # the block's highest tile probability
HOT_TILE_PROBABILITY = probability_classes.CLASSES[-1].lower
HOT_TILE_COLOR = probability_classes.CLASSES[-1].color
BLOCKS_LEGEND = "blocks of tiles in the class of their mean probability"
HOT_BLOCKS_LEGEND = f"outlined: a block holding a tile of {HOT_TILE_PROBABILITY:.1f} or more"


def blocks_paint() -> dict:
    """Blocks of tiles coloured by the class of their mean probability."""
    return {
        "fill-color": probability_classes.maplibre_step(BLOCK_COLOR_PROPERTY),
        "fill-opacity": 0.85,
    }


def hot_blocks_outline() -> dict:
    """The outline (a MapLibre line layer's filter and paint) of the blocks that hold a tile of
    the top class, drawn just inside the block."""
    return {
        "filter": [">=", ["get", BLOCK_HOT_PROPERTY], HOT_TILE_PROBABILITY],
        "paint": {"line-color": HOT_TILE_COLOR, "line-width": 2, "line-offset": 1},
    }


def change_paint() -> dict:
    """Tiles coloured by change class (absent is not drawn)."""
    return {"fill-color": change_classes.maplibre_color(), "fill-opacity": 0.8}


def zones_paint() -> dict:
    """Zones coloured by their estimated km2 of new mining (grey without an estimate)."""
    return {
        "fill-color": change_classes.maplibre_zone_color(),
        "fill-opacity": 0.7,
        "fill-outline-color": "#323232",
    }


def review_paint() -> dict:
    """Tile outlines coloured by review status."""
    return {
        "line-color": [
            "match",
            ["get", "status"],
            *("confirmed", "#e41a1c", "rejected", "#377eb8", "unclear", "#ffc800"),
            "#141414",
        ],
        "line-width": 2,
    }


def labels_paint() -> dict:
    """Labels as points: mines larger and red."""
    is_mine = ["==", ["get", "label"], 1]
    return {
        "circle-color": ["case", is_mine, "#e41a1c", "#ebf0fa"],
        "circle-radius": ["case", is_mine, 4, 2.5],
        "circle-stroke-color": "#232323",
        "circle-stroke-width": 0.6,
    }


PROBABILITY = "calibrated probability of ASM, fixed classes"
BLOCKS = (
    "mean probability of ASM in each block, fixed classes; "
    f"outlined where a tile reaches {HOT_TILE_PROBABILITY:.1f}"
)
CHANGE = "change in mapped ASM between two maps"
ZONES = "change by zone: estimated km2 of new mining with 95% intervals"
ZONE_PROPERTIES = (
    "zone_id",
    "zone",
    "period_from",
    "period_to",
    "reviewed",
    "estimated",
    "note",
    *(
        f"{k}_{part}"
        for k in change_classes.SAMPLED_CLASSES
        for part in ("km2", "low", "high", "mapped_km2")
    ),
)
OVERVIEW_PROPERTIES = ("overview_id", "cells", "tiles", "probability", "probability_mean")

LAYERS = (
    Layer(
        "latest_predictions",
        "tile_id",
        "Polygon",
        "probability",
        PROBABILITY,
        served=True,
        public=True,
        tile_cached=True,
        sql_file="latest_predictions",
        project_order=5,
        project=ProjectLayer("ASM probability (promoted map)"),
        tile_properties=("tile_id", "probability", "run_id"),
        web=WebLayer(
            "predictions",
            "Probability (promoted map)",
            "fill",
            probability_paint(),
            overviews="asmdb.latest_overviews",
            overview_paint=blocks_paint(),
            popup="tile",
        ),
    ),
    Layer(
        "latest_overviews",
        "overview_id",
        "Polygon",
        "blocks",
        BLOCKS,
        served=True,
        public=True,
        tile_cached=True,
        sql_file="latest_overviews",
        tile_properties=OVERVIEW_PROPERTIES,
    ),
    Layer(
        "maps_by_period",
        "map_tile_id",
        "Polygon",
        "probability",
        "calibrated probability of ASM per period, fixed classes",
        served=True,
        public=True,
        tile_cached=True,
        sql_file="maps_by_period",
        project_order=6,
        project=ProjectLayer(
            "ASM probability by period (Temporal Controller)",
            visible=False,
            temporal=True,
            # A map of unknown period would show in every frame of the Temporal Controller.
            subset='"period_start" IS NOT NULL OR "period_end" IS NOT NULL',
        ),
        tile_properties=("map_tile_id", "tile_id", "map_id", "period_start", "probability"),
        web=WebLayer(
            "periods",
            "Maps by period",
            "fill",
            probability_paint(),
            hidden=True,
            overviews="asmdb.overviews_by_period",
            overview_paint=blocks_paint(),
            by_period=True,
            popup="tile",
        ),
    ),
    Layer(
        "overviews_by_period",
        "overview_id",
        "Polygon",
        "blocks",
        f"{BLOCKS}, per period",
        served=True,
        public=True,
        tile_cached=True,
        sql_file="overviews_by_period",
        tile_properties=(
            "overview_id",
            "map_id",
            "period_start",
            *OVERVIEW_PROPERTIES[1:],
        ),
    ),
    Layer(
        "zone_estimates",
        "zone_id",
        "Polygon",
        "zones",
        ZONES,
        served=True,
        public=True,
        sql_file="zone_estimates",
        project_order=4,
        project=ProjectLayer("Change by zone: km2 of new mining (95% intervals)", visible=False),
        tile_properties=ZONE_PROPERTIES,
        web=WebLayer("zones", "Change by zone", "fill", zones_paint(), hidden=True, popup="zone"),
    ),
    Layer(
        "latest_change",
        "tile_id",
        "Polygon",
        "change",
        CHANGE,
        served=True,
        public=True,
        sql_file="latest_change",
        project_order=3,
        project=ProjectLayer("Change in mapped ASM (newest change)"),
        tile_properties=("tile_id", "class", "p_from", "p_to"),
        web=WebLayer("change", "Change", "fill", change_paint(), hidden=True, popup="change"),
    ),
    Layer(
        "review_queue",
        "review_id",
        "Polygon",
        "review",
        "tiles to review, by status",
        served=True,
        project_order=1,
        project=ProjectLayer("Review queue"),
        tile_properties=("review_id", "tile_id", "status"),
        web=WebLayer("review", "Review queue", "line", review_paint(), reload_after_review=True),
    ),
    Layer(
        "labels",
        "label_id",
        "Point",
        "labels",
        "field labels by label and mine type",
        served=True,
        project_order=2,
        project=ProjectLayer("Field labels"),
        tile_properties=("label_id", "label", "mine_type"),
        web=WebLayer("labels", "Labels", "circle", labels_paint()),
    ),
    Layer(
        "similar_tiles",
        "similar_tile_id",
        "Polygon",
        "similar",
        'tiles found by "find more like this"',
        served=True,
    ),
    Layer("predictions", "tile_id", "Polygon", "probability", PROBABILITY),
    Layer("map_overviews", "overview_id", "Polygon", "blocks", BLOCKS),
    Layer("change_tiles", "tile_id", "Polygon", "change", CHANGE),
    Layer(
        "tiles",
        "tile_id",
        "Polygon",
        "tiles",
        "feature tiles as outlines",
        project_order=7,
        project=ProjectLayer("Feature tiles", visible=False),
    ),
)
BY_COLLECTION = {layer.collection_id: layer for layer in LAYERS}
for _layer in LAYERS:
    if _layer.web and _layer.web.overviews and _layer.web.overviews not in BY_COLLECTION:
        raise ValueError(f"layer {_layer.table}: no layer {_layer.web.overviews} for its overviews")


@dataclass(frozen=True)
class ImageryLayer:
    """How registered imagery is served and drawn: PNG tiles of one imagery at a time, drawn by
    the page as a raster under every map layer."""

    table: str  # the registry of imagery in the asmdb schema
    title: str  # the page's words for it
    public: bool  # anonymous visitors of a public server may read it (as the map layers)
    # What a visitor's role reads of the registry (the anonymous role's grant): enough to list an
    # imagery and to prove the visitor may read it.
    columns: tuple[str, ...]
    list_url: str  # the imagery a visitor may choose from (GET, JSON)
    tiles: str  # the route of a tile; {name} is the imagery's name, URL-encoded
    tile_size: int = 256
    minzoom: int = 0
    maxzoom: int = 24  # the route's zooms
    paint: dict = field(default_factory=dict)  # MapLibre raster paint properties
    hidden: bool = False  # off when the page opens (False: it opens on the period's imagery)
    # The stored QGIS project: a raster layer per imagery in this legend group, below the map
    # layers, newest on top, each lasting its period in the Temporal Controller.
    project_group: str = "Imagery"
    # What an imagery is drawn from (local paths, internal hosts, signed URLs): read by the server
    # as its own reader, by imagery_id, once the visitor's role has read the imagery's row.
    sources: tuple[str, ...] = ("files", "scale", "offset", "stretch")

    def __post_init__(self) -> None:
        if "imagery_id" not in self.columns:
            raise ValueError("imagery: the server reads what it is drawn from by imagery_id")
        shown = set(self.columns) & set(self.sources)
        if shown:
            raise ValueError(
                f"imagery: {', '.join(sorted(shown))} are read by the server, never by visitors"
            )

    def tiles_of(self, name: str) -> str:
        """The tile route of one imagery, {z}/{x}/{y} left to fill in."""
        return self.tiles.replace("{name}", quote(name, safe=""))


IMAGERY = ImageryLayer(
    "imagery",
    "Imagery",
    public=True,
    columns=(
        "imagery_id",
        "name",
        "period_start",
        "period_end",
        "footprint",
        "bands",
        "created_at",
    ),
    list_url="/api/imagery",
    tiles="/imagery/{name}/tiles/WebMercatorQuad/{z}/{x}/{y}.png",
    paint={"raster-opacity": 1.0},
)


def imagery_config() -> dict:
    """What the page needs to offer and draw imagery (`/api/config`'s "imagery")."""
    return {
        "id": "imagery",
        "title": IMAGERY.title,
        "kind": "raster",
        "under_layers": True,
        "list": IMAGERY.list_url,
        "tiles": IMAGERY.tiles,
        "tile_size": IMAGERY.tile_size,
        "minzoom": IMAGERY.minzoom,
        "maxzoom": IMAGERY.maxzoom,
        "paint": IMAGERY.paint,
        "hidden": IMAGERY.hidden,
        "public": IMAGERY.public,
    }


def served() -> tuple[Layer, ...]:
    """The layers in the OGC API's catalog."""
    return tuple(layer for layer in LAYERS if layer.served)


def public() -> tuple[Layer, ...]:
    """The layers anonymous visitors of a public server may read."""
    return tuple(layer for layer in LAYERS if layer.public)


def in_project() -> tuple[Layer, ...]:
    """The layers of the stored QGIS project, top of the legend first."""
    return tuple(sorted((x for x in LAYERS if x.project), key=lambda x: x.project_order))


def drawn() -> tuple[Layer, ...]:
    """The layers the web page draws, in drawing order (later on top)."""
    return tuple(layer for layer in LAYERS if layer.web is not None)


def web_config(layer: Layer) -> dict:
    """What the page needs to draw a layer (`/api/config`)."""
    web = layer.web
    assert web is not None
    return {
        "collection": layer.collection_id,
        "id": web.id,
        "title": web.title,
        "kind": web.kind,
        "paint": web.paint,
        "properties": list(layer.tile_properties),
        "hidden": web.hidden,
        "overviews": web.overviews,
        "overview_paint": web.overview_paint,
        "overview_outline": hot_blocks_outline() if web.overviews else None,
        "by_period": web.by_period,
        "popup": web.popup,
        "reload_after_review": web.reload_after_review,
        "public": layer.public,
    }
