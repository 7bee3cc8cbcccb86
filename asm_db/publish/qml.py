"""QGIS style documents (QML) for asmdb's layers: the probability map, the labels, the tiles.

The same documents go into `public.layer_styles` (QGIS's default-style table), into the stored
QGIS project, and beside exported files, so every way of opening the data looks the same.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from asm_db.change.classes import CHANGE_CLASSES, ZONE_ATTRIBUTE, ZONE_NO_ESTIMATE, zone_ranges
from asm_db.probability_classes import CLASSES, ProbabilityClass

# Label categories are the value of this expression (see `label_categories`).
LABEL_CATEGORY_EXPRESSION = (
    "CASE WHEN \"label\" = 1 THEN 'mine: ' || coalesce(\"mine_type\", 'type unknown') "
    "ELSE 'not a mine' END"
)
NOT_A_MINE = "not a mine"
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Category:
    value: str
    label: str
    color: str  # "r,g,b,a"
    size: float = 2.4  # millimetres


# Mine colours that stand out on viridis (matplotlib's Set1 without blue, green or yellow).
MINE_COLORS = ("#e41a1c", "#ff7f00", "#984ea3", "#a65628", "#f781bf")


def _rgba(color: str, alpha: float = 1.0) -> str:
    """ "#rrggbb" as QGIS's "r,g,b,a"."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"{r},{g},{b},{round(255 * alpha)}"


def _options(parent: ET.Element, values: dict[str, str]) -> None:
    """QGIS 3 symbol-layer properties: <Option type="Map"> of named QString options."""
    option_map = ET.SubElement(parent, "Option", type="Map")
    for name, value in values.items():
        ET.SubElement(option_map, "Option", type="QString", name=name, value=value)


def _symbol(parent: ET.Element, name: str, kind: str, layer_class: str, props: dict) -> None:
    symbol = ET.SubElement(
        parent, "symbol", type=kind, name=name, alpha="1", clip_to_extent="1", force_rhr="0"
    )
    # `class` and `pass` are Python keywords: attributes given as a dict.
    layer = ET.SubElement(
        symbol, "layer", {"class": layer_class, "enabled": "1", "locked": "0", "pass": "0"}
    )
    _options(layer, props)


def _fill(parent: ET.Element, name: str, color: str, outline: Outline | None = None) -> None:
    _symbol(
        parent,
        name,
        "fill",
        "SimpleFill",
        {"color": color, "style": "solid", "outline_style": "no", "outline_color": color},
    )
    if outline is not None:
        _outline_layer(parent.findall("symbol")[-1], outline)


@dataclass(frozen=True)
class Outline:
    """An outline drawn only on the features `when` (a QGIS expression) holds for."""

    when: str
    color: str  # "#rrggbb"
    width: float = 0.5  # millimetres


def _outline_layer(symbol: ET.Element, outline: Outline) -> None:
    """A second symbol layer: an outline with no fill, enabled by the expression (QGIS's
    data-defined "enabled" property of a symbol layer)."""
    layer = ET.SubElement(
        symbol, "layer", {"class": "SimpleFill", "enabled": "1", "locked": "0", "pass": "0"}
    )
    _options(
        layer,
        {
            "style": "no",
            "color": "0,0,0,0",
            "outline_style": "solid",
            "outline_color": _rgba(outline.color),
            "outline_width": f"{outline.width:g}",
            "outline_width_unit": "MM",
        },
    )
    defined = ET.SubElement(layer, "data_defined_properties")
    collection = ET.SubElement(defined, "Option", type="Map")
    ET.SubElement(collection, "Option", type="QString", name="name", value="")
    properties = ET.SubElement(collection, "Option", type="Map", name="properties")
    enabled = ET.SubElement(properties, "Option", type="Map", name="enabled")
    ET.SubElement(enabled, "Option", type="bool", name="active", value="true")
    ET.SubElement(enabled, "Option", type="QString", name="expression", value=outline.when)
    ET.SubElement(enabled, "Option", type="int", name="type", value="3")  # an expression
    ET.SubElement(collection, "Option", type="QString", name="type", value="collection")


def _marker(parent: ET.Element, name: str, color: str, size: float = 2.4) -> None:
    _symbol(
        parent,
        name,
        "marker",
        "SimpleMarker",
        {
            "name": "circle",
            "color": color,
            "size": f"{size:g}",
            "size_unit": "MM",
            "outline_color": "35,35,35,255",
            "outline_width": "0.3",
            "outline_style": "solid",
        },
    )


def _document(renderer: ET.Element, geometry: str) -> str:
    qgis = ET.Element("qgis", version="3.22.0", styleCategories="AllStyleCategories")
    qgis.append(renderer)
    ET.SubElement(qgis, "blendMode").text = "0"
    ET.SubElement(qgis, "featureBlendMode").text = "0"
    ET.SubElement(qgis, "layerOpacity").text = "1"
    ET.SubElement(qgis, "layerGeometryType").text = geometry
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(
        qgis, encoding="unicode"
    )


def renderer_element(qml: str) -> ET.Element:
    """The <renderer-v2> element of a QML document (to embed in a project's map layer)."""
    root = ET.fromstring(qml.split("\n", 1)[1] if qml.startswith("<!DOCTYPE") else qml)
    return root.find("renderer-v2")


def probability_qml(
    attribute: str = "probability",
    classes: Sequence[ProbabilityClass] = CLASSES,
    outline: Outline | None = None,
) -> str:
    """Graduated fill on the calibrated probability: the fixed classes of
    `asm_db.probability_classes` in their colours, no outlines (but `outline`, where given)."""
    renderer = ET.Element(
        "renderer-v2",
        type="graduatedSymbol",
        attr=attribute,
        graduatedMethod="GraduatedColor",
        symbollevels="0",
        enableorderby="0",
        forceraster="0",
    )
    ranges = ET.SubElement(renderer, "ranges")
    symbols = ET.SubElement(renderer, "symbols")
    colors = [_rgba(c.color) for c in classes]
    for i, c in enumerate(classes):
        ET.SubElement(
            ranges,
            "range",
            symbol=str(i),
            lower=f"{c.lower:.6f}",
            upper=f"{c.upper:.6f}",
            label=c.label,
            render="true",
        )
        _fill(symbols, str(i), colors[i], outline)
    source = ET.SubElement(renderer, "source-symbol")
    _fill(source, "0", colors[0])
    # The ramp QGIS offers when a user reclassifies: the classes' colours, evenly spaced.
    ramp = ET.SubElement(renderer, "colorramp", type="gradient", name="[source]")
    inner = [(i / (len(colors) - 1), color) for i, color in enumerate(colors)][1:-1]
    _options(
        ramp,
        {
            "color1": colors[0],
            "color2": colors[-1],
            "discrete": "0",
            "rampType": "gradient",
            "stops": ":".join(f"{stop:g};{color}" for stop, color in inner),
        },
    )
    method = ET.SubElement(renderer, "classificationMethod", id="Fixed")
    ET.SubElement(method, "symmetricMode", enabled="0", symmetrypoint="0", astride="0")
    ET.SubElement(
        method, "labelFormat", format="%1 - %2", labelprecision="1", trimtrailingzeroes="1"
    )
    ET.SubElement(renderer, "rotation")
    ET.SubElement(renderer, "sizescale")
    return _document(renderer, "2")


def blocks_qml(attribute: str, hot_attribute: str, hot_probability: float, hot_color: str) -> str:
    """Blocks of tiles (the overview layers) in the class of `attribute` (their mean
    probability), outlined in `hot_color` where `hot_attribute` (their highest tile probability)
    reaches `hot_probability`: the web page's rule (`asm_db.layers`)."""
    when = f'"{hot_attribute}" >= {hot_probability:g}'
    return probability_qml(attribute, outline=Outline(when, hot_color))


def label_categories(values: Iterable[tuple[int, str | None]]) -> list[Category]:
    """One category per (label, mine_type) present: mines in strong colours that stand out on
    viridis (red, orange, purple, ...), non-mines small and pale."""
    # A mine type with characters XML cannot hold (control characters) falls under "other".
    mine_types = sorted({mt or "type unknown" for label, mt in values if label == 1} - {None})
    mine_types = [mt for mt in mine_types if not XML_INVALID.search(mt)]
    categories = [
        Category(f"mine: {mt}", f"mine ({mt})", _rgba(MINE_COLORS[i % len(MINE_COLORS)]))
        for i, mt in enumerate(mine_types)
    ]
    # Non-mines far outnumber mines: small and pale, so they do not hide the map.
    categories.append(Category(NOT_A_MINE, NOT_A_MINE, "235,240,250,255", 1.4))
    return categories


def labels_qml(categories: Sequence[Category]) -> str:
    """Categorised points: one category per label and mine type, plus one for anything else."""
    renderer = ET.Element(
        "renderer-v2",
        type="categorizedSymbol",
        attr=LABEL_CATEGORY_EXPRESSION,
        symbollevels="0",
        enableorderby="0",
        forceraster="0",
    )
    cats = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    for i, category in enumerate(categories):
        ET.SubElement(
            cats,
            "category",
            symbol=str(i),
            value=category.value,
            label=category.label,
            render="true",
        )
        _marker(symbols, str(i), category.color, category.size)
    # The empty value is QGIS's catch-all for values not listed (new mine types).
    other = len(categories)
    ET.SubElement(cats, "category", symbol=str(other), value="", label="other", render="true")
    _marker(symbols, str(other), "150,150,150,255")
    source = ET.SubElement(renderer, "source-symbol")
    _marker(source, "0", "150,150,150,255")
    ET.SubElement(renderer, "rotation")
    ET.SubElement(renderer, "sizescale")
    return _document(renderer, "0")


def tiles_qml() -> str:
    """Tile squares as thin outlines with no fill, to show coverage above other layers."""
    renderer = ET.Element(
        "renderer-v2", type="singleSymbol", symbollevels="0", enableorderby="0", forceraster="0"
    )
    symbols = ET.SubElement(renderer, "symbols")
    _symbol(
        symbols,
        "0",
        "fill",
        "SimpleFill",
        {
            "style": "no",
            "color": "0,0,0,0",
            "outline_style": "solid",
            "outline_color": "90,90,90,255",
            "outline_width": "0.1",
            "outline_width_unit": "MM",
        },
    )
    ET.SubElement(renderer, "rotation")
    ET.SubElement(renderer, "sizescale")
    return _document(renderer, "2")


# "Find more like this" results, as the web page draws them.
SIMILAR_COLOR = "#ff00ff"


def similar_qml() -> str:
    """Similar tiles as thick magenta outlines with no fill, over the probability map; filter
    on `query_id` to see one search."""
    renderer = ET.Element(
        "renderer-v2", type="singleSymbol", symbollevels="0", enableorderby="0", forceraster="0"
    )
    symbols = ET.SubElement(renderer, "symbols")
    _symbol(
        symbols,
        "0",
        "fill",
        "SimpleFill",
        {
            "style": "no",
            "color": "0,0,0,0",
            "outline_style": "solid",
            "outline_color": _rgba(SIMILAR_COLOR),
            "outline_width": "0.7",
            "outline_width_unit": "MM",
        },
    )
    ET.SubElement(renderer, "rotation")
    ET.SubElement(renderer, "sizescale")
    return _document(renderer, "2")


REVIEW_COLORS = {
    "pending": "255,255,255,0",
    "confirmed": "228,26,28,255",
    "rejected": "55,126,184,255",
    "unclear": "255,200,0,255",
}


def review_qml() -> str:
    """Review tiles by status: thick outlines (pending hollow, so the map shows through)."""
    renderer = ET.Element(
        "renderer-v2",
        type="categorizedSymbol",
        attr="status",
        symbollevels="0",
        enableorderby="0",
        forceraster="0",
    )
    cats = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    for i, (status, color) in enumerate(REVIEW_COLORS.items()):
        ET.SubElement(cats, "category", symbol=str(i), value=status, label=status, render="true")
        outline = "20,20,20,255" if status == "pending" else color
        _symbol(
            symbols,
            str(i),
            "fill",
            "SimpleFill",
            {
                "style": "no" if status == "pending" else "b_diagonal",
                "color": color,
                "outline_style": "solid",
                "outline_color": outline,
                "outline_width": "0.6",
                "outline_width_unit": "MM",
            },
        )
    source = ET.SubElement(renderer, "source-symbol")
    _fill(source, "0", "150,150,150,255")
    ET.SubElement(renderer, "rotation")
    ET.SubElement(renderer, "sizescale")
    return _document(renderer, "2")


def change_qml() -> str:
    """Change maps by class, in the classes' colours (`asm_db.change.classes`)."""
    renderer = ET.Element(
        "renderer-v2",
        type="categorizedSymbol",
        attr="class",
        symbollevels="0",
        enableorderby="0",
        forceraster="0",
    )
    cats = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    for i, change in enumerate(CHANGE_CLASSES):
        ET.SubElement(
            cats,
            "category",
            symbol=str(i),
            value=change.name,
            label=change.description,
            render="true",
        )
        _symbol(
            symbols,
            str(i),
            "fill",
            "SimpleFill",
            {
                "color": ",".join(str(v) for v in change.rgba),
                "style": change.fill,
                "outline_style": "solid" if change.outlined else "no",
                "outline_color": "40,40,40,255",
                "outline_width": "0.2",
                "outline_width_unit": "MM",
            },
        )
    source = ET.SubElement(renderer, "source-symbol")
    _fill(source, "0", "150,150,150,255")
    ET.SubElement(renderer, "rotation")
    ET.SubElement(renderer, "sizescale")
    return _document(renderer, "2")


def zones_qml() -> str:
    """Change by zone: a choropleth of the estimated km2 of new mining in the fixed classes of
    `asm_db.change.classes` (as the web page draws it), grey where a zone has too few reviews
    for an estimate, outlined."""
    renderer = ET.Element(
        "renderer-v2",
        type="RuleRenderer",
        symbollevels="0",
        enableorderby="0",
        forceraster="0",
    )
    rules = ET.SubElement(renderer, "rules", key="zones")
    symbols = ET.SubElement(renderer, "symbols")
    ranges = [
        (
            f'"{ZONE_ATTRIBUTE}" >= {lower:g}'
            + (f' AND "{ZONE_ATTRIBUTE}" < {upper:g}' if upper else ""),
            color,
            label,
        )
        for lower, upper, color, label in zone_ranges()
    ]
    ranges.append((f'"{ZONE_ATTRIBUTE}" IS NULL', ZONE_NO_ESTIMATE, "too few reviews"))
    for i, (expression, color, label) in enumerate(ranges):
        ET.SubElement(rules, "rule", key=f"zone{i}", symbol=str(i), filter=expression, label=label)
        _symbol(
            symbols,
            str(i),
            "fill",
            "SimpleFill",
            {
                "color": _rgba(color, 0.7),
                "style": "solid",
                "outline_style": "solid",
                "outline_color": "50,50,50,255",
                "outline_width": "0.3",
                "outline_width_unit": "MM",
            },
        )
    return _document(renderer, "2")


def _raster_pipe(renderer: ET.Element) -> ET.Element:
    """A raster layer's <pipe>: the renderer, then QGIS's neutral filters."""
    pipe = ET.Element("pipe")
    pipe.append(renderer)
    ET.SubElement(pipe, "brightnesscontrast", brightness="0", contrast="0", gamma="1")
    ET.SubElement(
        pipe, "huesaturation", saturation="0", grayscaleMode="0", colorizeOn="0", invertColors="0"
    )
    ET.SubElement(pipe, "rasterresampler", maxOversampling="2")
    return pipe


def _min_max_origin(renderer: ET.Element, limits: str, extent: str, cut: tuple[float, float]):
    origin = ET.SubElement(renderer, "minMaxOrigin")
    for tag, text in (
        ("limits", limits),
        ("extent", extent),
        ("statAccuracy", "Estimated"),
        ("cumulativeCutLower", f"{cut[0]:g}"),
        ("cumulativeCutUpper", f"{cut[1]:g}"),
        ("stdDevFactor", "2"),
    ):
        ET.SubElement(origin, tag).text = text


def true_colour_pipe(
    bands: tuple[int, int, int],
    ranges: Sequence[tuple[float, float]] | None,
    cut: tuple[float, float] = (0.02, 0.98),
    alpha: int | None = None,
) -> ET.Element:
    """A raster layer's pipe drawing `bands` as red, green and blue, each stretched from its
    (min, max) in `ranges`, and band `alpha` (if any) as opacity; without ranges, stretched to
    the `cut` percentiles of what the map canvas shows, recomputed as it moves."""
    renderer = ET.Element(
        "rasterrenderer",
        type="multibandcolor",
        redBand=str(bands[0]),
        greenBand=str(bands[1]),
        blueBand=str(bands[2]),
        alphaBand=str(alpha or -1),
        opacity="1",
        nodataColor="",  # no data is transparent
    )
    if ranges is None:
        _min_max_origin(renderer, "CumulativeCut", "UpdatedCanvas", cut)
        ranges = [(0.0, 1.0)] * 3  # replaced at the first draw
    else:
        _min_max_origin(renderer, "None", "WholeRaster", cut)
    for colour, (low, high) in zip(("red", "green", "blue"), ranges, strict=True):
        enhancement = ET.SubElement(renderer, f"{colour}ContrastEnhancement")
        ET.SubElement(enhancement, "minValue").text = repr(float(low))
        ET.SubElement(enhancement, "maxValue").text = repr(float(high))
        ET.SubElement(enhancement, "algorithm").text = "StretchToMinimumMaximum"
    return _raster_pipe(renderer)


def tile_colour_pipe() -> ET.Element:
    """A raster layer's pipe drawing its own colours (XYZ tiles: RGBA PNG)."""
    renderer = ET.Element(
        "rasterrenderer",
        type="singlebandcolordata",
        band="1",
        alphaBand="-1",
        opacity="1",
        nodataColor="",
    )
    _min_max_origin(renderer, "None", "WholeRaster", (0.02, 0.98))
    return _raster_pipe(renderer)
