"""The change classes, the one definition the change SQL's totals, the QGIS style, the plots and
the web page read, and the defaults of `asmdb change` (nothing heavy imported: the CLI reads
them).

A tile's class, with threshold t and minimum difference d (the rule is `change_tiles_insert.sql`):
`new` when p_from < t <= p_to and p_to - p_from >= d; `gone` the other way round; `persistent`
when p_from >= t otherwise; `absent` when p_from < t otherwise; `no_data` when either map lacks
the tile. By default d is `auto`: taken from the noise of the two maps (`NOISE_*` below,
`asm_db.change.compute.choose_min_delta`).
"""

from __future__ import annotations

from dataclasses import dataclass

from asm_db.probability_classes import MAP_THRESHOLD


@dataclass(frozen=True)
class ChangeClass:
    name: str  # as stored in asmdb.change_tiles.class
    description: str  # the legend's words
    color: str  # "#rrggbb"
    opacity: float  # 0 (not drawn) to 1
    fill: str  # QGIS's fill style: "solid", "no" or "b_diagonal" (hatched)
    outlined: bool  # QGIS draws the tile's outline
    precedence: int  # where a picture holds several tiles in one pixel, the highest wins

    @property
    def rgba(self) -> tuple[int, int, int, int]:
        red, green, blue = (int(self.color[i : i + 2], 16) for i in (1, 3, 5))
        return red, green, blue, round(self.opacity * 255)

    @property
    def css(self) -> str:
        """The colour as CSS (and MapLibre) read it, its opacity included."""
        red, green, blue, _ = self.rgba
        return f"rgba({red},{green},{blue},{self.opacity:g})"


# In the order of the legends and the totals: new mining in a strong warm colour, gone in a cool
# one, persistent muted, absent not drawn, no data hatched grey.
CHANGE_CLASSES = (
    ChangeClass("new", "new mining", "#e6007e", 1.0, "solid", True, 4),
    ChangeClass("gone", "mining gone", "#0096d7", 1.0, "solid", True, 3),
    ChangeClass("persistent", "mining in both periods", "#787878", 150 / 255, "solid", False, 2),
    ChangeClass("absent", "no mining in either period", "#ffffff", 0.0, "no", False, 0),
    ChangeClass("no_data", "missing from a map", "#a0a0a0", 1.0, "b_diagonal", False, 1),
)
CLASSES = tuple(c.name for c in CHANGE_CLASSES)
# The strata of a change's review sample: a tile missing from a map has nothing to review.
SAMPLED_CLASSES = tuple(c for c in CLASSES if c != "no_data")
DEFAULT_THRESHOLD = MAP_THRESHOLD
# `--min-delta auto`: d is NOISE_Z times the robust standard deviation of p_to - p_from over
# the tiles whose earlier probability lies within NOISE_BAND of the threshold (where noise alone
# can carry a tile across it); with fewer than NOISE_MIN_TILES such tiles, d is 0.
AUTO = "auto"
DEFAULT_MIN_DELTA = AUTO
NOISE_Z = 1.96
NOISE_BAND = 0.25
NOISE_MIN_TILES = 20


# The choropleth of change by zone (web page and QGIS): the estimated km2 of new mining in a
# zone, in fixed classes (a zone's colour reads the same on every change), from pale to the new
# class's colour; a zone with too few reviews for an estimate is grey.
ZONE_BREAKS_KM2 = (0.0, 1.0, 5.0, 10.0, 25.0, 50.0)
ZONE_COLORS = ("#fde0ef", "#f9b4d6", "#f180bb", "#e6419c", "#e6007e", "#8e0152")
ZONE_NO_ESTIMATE = "#bdbdbd"
ZONE_ATTRIBUTE = "new_km2"


def zone_ranges() -> list[tuple[float, float | None, str, str]]:
    """(lower, upper or None for the top class, colour, label) of each choropleth class."""
    uppers = (*ZONE_BREAKS_KM2[1:], None)
    return [
        (lower, upper, color, f"{lower:g}-{upper:g} km2" if upper else f"{lower:g} km2 or more")
        for lower, upper, color in zip(ZONE_BREAKS_KM2, uppers, ZONE_COLORS, strict=True)
    ]


def maplibre_zone_color() -> list:
    """A MapLibre expression colouring a zone by its estimated new mining (grey without one)."""
    step: list = ["step", ["get", ZONE_ATTRIBUTE], ZONE_COLORS[0]]
    for lower, color in zip(ZONE_BREAKS_KM2[1:], ZONE_COLORS[1:], strict=True):
        step += [lower, color]
    has_estimate = ["==", ["typeof", ["get", ZONE_ATTRIBUTE]], "number"]
    return ["case", has_estimate, step, ZONE_NO_ESTIMATE]


def sql_params() -> dict[str, list[str]]:
    """Bound parameters for SQL that orders the sampled classes: `%(sampled_classes)s`."""
    return {"sampled_classes": list(SAMPLED_CLASSES)}


def maplibre_color(attribute: str = "class") -> list:
    """A MapLibre `match` expression giving each tile its class colour (transparent otherwise)."""
    expression: list = ["match", ["get", attribute]]
    for c in CHANGE_CLASSES:
        if c.opacity > 0:
            expression += [c.name, c.color]
    return expression + ["rgba(0,0,0,0)"]
