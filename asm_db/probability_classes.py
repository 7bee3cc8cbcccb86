"""The map's probability classes: one definition for the QGIS styles, the review strata, the
plots, the SQL that counts tiles by class, and a web map's colour steps.

Fixed classes, not quantiles: a probability of 0.7 reads the same on every run's map. A tile
belongs to the class whose lower break it reaches (0.2 is in "0.2-0.4"); 1.0 is in the top class.
Colours are viridis at even steps (fixed values, so no plotting library is needed to draw them).
"""

from __future__ import annotations

from dataclasses import dataclass

# The probability at and above which the map calls a tile ASM: its headline count, the review
# queue's threshold and the default of a change's. SQL gets it as the bound `%(map_threshold)s`.
MAP_THRESHOLD = 0.5
BREAKS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
# viridis sampled at 0, 1/4, 1/2, 3/4, 1 (matplotlib's colour map, rounded to 8 bits).
COLORS = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")


@dataclass(frozen=True)
class ProbabilityClass:
    number: int  # 1-based, as SQL's width_bucket numbers them
    lower: float
    upper: float
    color: str  # "#rrggbb"

    @property
    def label(self) -> str:
        """The range as people read it: "0.0-0.2"."""
        return f"{self.lower:.1f}-{self.upper:.1f}"

    @property
    def stratum(self) -> str:
        """The review stratum's name, as stored in asmdb.review_queue: "p0.0-0.2"."""
        return f"p{self.label}"

    @property
    def rgb(self) -> tuple[int, int, int]:
        return tuple(int(self.color[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


CLASSES = tuple(
    ProbabilityClass(i + 1, lower, upper, color)
    for i, (lower, upper, color) in enumerate(zip(BREAKS[:-1], BREAKS[1:], COLORS, strict=True))
)


def class_of(probability: float) -> ProbabilityClass:
    """The class of one probability (the same rule as `sql_params` gives SQL)."""
    number = sum(1 for c in CLASSES if probability >= c.lower)
    return CLASSES[max(number, 1) - 1]


def mapped_label() -> str:
    """How output names the count of tiles the map calls ASM: "at least 0.5"."""
    return f"at least {MAP_THRESHOLD:g}"


def sql_params() -> dict[str, list[float]]:
    """Bound parameters for SQL: `width_bucket(p, %(class_lower_bounds)s::float8[])` is the
    1-based class number of probability p (1 to len(CLASSES) for 0 <= p <= 1)."""
    return {"class_lower_bounds": [c.lower for c in CLASSES]}


def color_steps() -> tuple[str, list[tuple[float, str]]]:
    """The first class's colour and each further class's (lower break, colour): what a
    MapLibre `["step", ["get", "probability"], first, break1, colour1, ...]` expression needs."""
    return CLASSES[0].color, [(c.lower, c.color) for c in CLASSES[1:]]


def maplibre_step(attribute: str = "probability") -> list:
    """A MapLibre style expression that colours features by class."""
    first, steps = color_steps()
    expression: list = ["step", ["get", attribute], first]
    for lower, color in steps:
        expression += [lower, color]
    return expression
