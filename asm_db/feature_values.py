"""The one rule for a value in a stored feature vector, and for a pixel featurize computes
from: a finite float32.

NaN, the infinities and magnitudes beyond float32's range (about 3.4e38, which become
infinite in the cast) are not values. `asmdb ingest features` refuses a file holding one,
naming its rows; `asmdb featurize` treats such a pixel as invalid, like nodata, and skips a
tile whose vector would hold one. Both decide with `finite_float32`.
"""

from __future__ import annotations

import numpy as np


def finite_float32(values) -> tuple[np.ndarray, np.ndarray]:
    """`values` as float32, and a boolean array of the same shape saying where they are finite."""
    with np.errstate(over="ignore", invalid="ignore"):  # too large becomes inf: reported
        out = np.asarray(values).astype(np.float32)
    return out, np.isfinite(out)
