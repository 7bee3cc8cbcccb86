"""The probability classes of the web map: the one definition (`asm_db.probability_classes`)
the QGIS style, the plots and the review strata use, in the form the page reads."""

from __future__ import annotations

from dataclasses import dataclass

from asm_db import probability_classes as classes


@dataclass(frozen=True)
class ProbabilityClass:
    lower: float
    upper: float
    color: str  # "#rrggbb"
    label: str


def probability_classes() -> list[ProbabilityClass]:
    """The map's probability classes, for the page's legend."""
    return [ProbabilityClass(c.lower, c.upper, c.color, c.label) for c in classes.CLASSES]


def maplibre_step(attribute: str = "probability") -> list:
    """A MapLibre `step` expression giving each feature its class colour."""
    first, steps = classes.color_steps()
    expression: list = ["step", ["get", attribute], first]
    for lower, color in steps:
        expression += [lower, color]
    return expression
