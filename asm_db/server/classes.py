"""The probability classes of the web map's legend: the one definition
(`asm_db.probability_classes`) the QGIS style, the plots and the review strata use, in the form
the page reads (the layers' colours come from the same definition, `asm_db.layers`)."""

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
