"""How registered imagery is shown in colour: one rule for the web map's tiles
(`asm_db.imagery.web_tiles`), the stored QGIS project (`asm_db.publish.project_imagery`) and the
review GeoPackage (`asm_db.review.imagery`).

- The bands drawn as red, green and blue: those named red, green and blue (any case), else
  Sentinel-2's B04, B03 and B02, else the first three. With one or two bands, the first is drawn
  alone as grey (a second band has no colour of its own to take).
- Each band stretched, low to high, over the range the registry recorded for it (its 2nd to 98th
  percentile, in values: stored * scale + offset). A flat range (low = high) is widened by half
  a stored number each side, so it shows mid-grey. A band without a recorded range (an old
  registration, a band without valid pixels) is stretched over its stored data type's range (0
  to 255 for bytes, 0 to 65535 for uint16, ..., as values), or over the values 0 to 1 for
  floating point.

Ranges are in values, as QGIS reads a file (it applies the file's scale and offset, and the
registry's are the files') and as the review export reads it; the web tiles read stored numbers
and take `stored_range`, the one place values become stored numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np

# Band names drawn as red, green and blue (any case), the first set found: asmdb's composites'
# and most products', then Sentinel-2's own.
TRUE_COLOUR = (("red", "green", "blue"), ("b04", "b03", "b02"))


class Shown(Protocol):
    """What the rule reads of an imagery (an `ImageryRecord`, a `TileSource`)."""

    bands: Sequence[str]
    scale: Sequence[float]
    offset: Sequence[float]
    stretch: dict | None


def display_bands(band_names: Sequence[str]) -> tuple[int, int, int]:
    """The bands (0-based) drawn as red, green and blue; the first three times for grey."""
    lower = [name.lower() for name in band_names]
    for names in TRUE_COLOUR:
        if all(name in lower for name in names):
            return tuple(lower.index(name) for name in names)  # type: ignore[return-value]
    if len(band_names) >= 3:
        return (0, 1, 2)
    return (0, 0, 0)


def is_grey(bands: tuple[int, int, int]) -> bool:
    """Whether `display_bands` chose one band, drawn as grey."""
    return len(set(bands)) == 1


def _scale_offset(imagery: Shown, band: int) -> tuple[float, float]:
    scale, offset = float(imagery.scale[band]), float(imagery.offset[band])
    if not (math.isfinite(scale) and math.isfinite(offset)) or scale == 0:
        return 1.0, 0.0
    return scale, offset


def display_range(imagery: Shown, band: int, dtype=None) -> tuple[float, float]:
    """The values (low, high) band `band` (0-based) is stretched over; `dtype`: its stored data
    type, for a band without a recorded range."""
    scale, offset = _scale_offset(imagery, band)
    recorded = (imagery.stretch or {}).get(imagery.bands[band])
    try:
        low, high = sorted(float(v) for v in recorded)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        low = high = math.nan
    if not (math.isfinite(low) and math.isfinite(high)):
        if dtype is None or not np.issubdtype(np.dtype(dtype), np.integer):
            return 0.0, 1.0
        info = np.iinfo(np.dtype(dtype))
        low, high = sorted(float(v) * scale + offset for v in (info.min, info.max))
        return low, high
    if high - low < abs(scale) * 1e-6:  # one value everywhere: mid-grey
        pad = abs(scale) / 2
        low, high = low - pad, high + pad
    return low, high


def stored_range(imagery: Shown, band: int, dtype=None) -> tuple[float, float]:
    """`display_range` in the band's stored numbers (value = stored * scale + offset)."""
    scale, offset = _scale_offset(imagery, band)
    low, high = display_range(imagery, band, dtype)
    return tuple(sorted(((low - offset) / scale, (high - offset) / scale)))  # type: ignore[return-value]
