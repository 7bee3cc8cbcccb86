"""The probability classes of the web map: the same breaks and colours as the QGIS style."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProbabilityClass:
    lower: float
    upper: float
    color: str  # "#rrggbb"
    label: str


def probability_classes() -> list[ProbabilityClass]:
    """The map's probability classes, read from the one definition the QGIS style uses."""
    from asm_db.publish.qml import PROBABILITY_BREAKS, _viridis

    breaks = PROBABILITY_BREAKS
    colors = _viridis(len(breaks) - 1)
    out = []
    for lower, upper, rgba in zip(breaks[:-1], breaks[1:], colors, strict=True):
        r, g, b = (int(c) for c in rgba.split(",")[:3])
        out.append(
            ProbabilityClass(lower, upper, f"#{r:02x}{g:02x}{b:02x}", f"{lower:g} - {upper:g}")
        )
    return out


def maplibre_step(attribute: str = "probability") -> list:
    """A MapLibre `step` expression giving each feature its class colour."""
    classes = probability_classes()
    expression: list = ["step", ["get", attribute], classes[0].color]
    for cls in classes[1:]:
        expression += [cls.lower, cls.color]
    return expression
