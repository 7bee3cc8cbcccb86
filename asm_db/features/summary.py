"""A per-feature summary of feature vectors, and how far another set's vectors lie from it.

`asmdb train` stores the summary of its training rows with the run; `asmdb predict` summarises
a sample of the tiles it is asked to score the same way and refuses a set whose features are
on another scale or far from the training ones (pixels scaled wrongly, another sensor), where
the model's probabilities would be meaningless. The statistic and its thresholds, measured on
the sample data, are in docs/methods.md.

Per feature j: the median m_j and the inter-quartile range s_j. Two numbers compare a set
(m', s') with the training summary (m, s), each a median over the features the training rows
vary in (s_j > 0), so a few odd features do not decide:
- spread: median |ln(s'_j / s_j)|, shown as a factor exp(...): how many times wider or
  narrower the features are;
- shift: median |m'_j - m_j| / s_j: how many training spreads the features moved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FORMAT = "median-iqr/1"
# A set is refused when its features' spreads differ by more than this factor, or their
# medians moved by more than this many training spreads (docs/methods.md: measured).
MAX_SPREAD_FACTOR = 3.0
MAX_SHIFT = 3.0
SAMPLE_TILES = 2000  # tiles of a set read to summarise it at predict time
DIGITS = 6  # significant digits stored: the summary is a yardstick, not data


@dataclass(frozen=True)
class Summary:
    """Median and inter-quartile range of each feature over `rows` vectors."""

    median: np.ndarray
    iqr: np.ndarray
    rows: int

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "rows": self.rows,
            "median": [float(f"{v:.{DIGITS}g}") for v in self.median],
            "iqr": [float(f"{v:.{DIGITS}g}") for v in self.iqr],
        }

    @classmethod
    def from_json(cls, data: dict) -> Summary:
        return cls(
            np.asarray(data["median"], np.float64),
            np.asarray(data["iqr"], np.float64),
            int(data["rows"]),
        )


@dataclass(frozen=True)
class Distance:
    """How far a set's features lie from a summary (see the module's docstring)."""

    spread_factor: float  # exp(median |ln(s'/s)|): 1 when the spreads agree
    shift: float  # median |m' - m| / s, in training spreads
    features: int  # features compared (those the training rows vary in)

    @property
    def far(self) -> bool:
        return self.spread_factor > MAX_SPREAD_FACTOR or self.shift > MAX_SHIFT

    def describe(self) -> str:
        return (
            f"its features' spreads differ by a factor of {self.spread_factor:.3g} "
            f"(at most {MAX_SPREAD_FACTOR:g}) and their medians moved "
            f"{self.shift:.3g} training spreads (at most {MAX_SHIFT:g})"
        )


def summarize(vectors: np.ndarray, max_rows: int = SAMPLE_TILES) -> Summary:
    """The median and inter-quartile range of each column of `vectors` (rows x features),
    over at most `max_rows` rows (drawn by a fixed seed), so memory stays bounded."""
    if len(vectors) > max_rows:
        rows = np.sort(np.random.default_rng(0).choice(len(vectors), max_rows, replace=False))
        vectors = vectors[rows]
    x = np.asarray(vectors, np.float64)
    if len(x) == 0:
        zeros = np.zeros(x.shape[1])
        return Summary(zeros, zeros, 0)
    q1, median, q3 = np.percentile(x, [25, 50, 75], axis=0)
    return Summary(median, q3 - q1, len(x))


def distance(trained: Summary, other: Summary) -> Distance:
    """How far `other`'s features lie from the `trained` summary."""
    varied = trained.iqr > 0
    s, s2 = trained.iqr[varied], other.iqr[varied]
    with np.errstate(divide="ignore"):
        spread = np.abs(np.log(s2 / s))  # inf where a varied feature became constant
    shift = np.abs(other.median[varied] - trained.median[varied]) / s
    if not varied.any():
        return Distance(1.0, 0.0, 0)
    return Distance(float(np.exp(np.median(spread))), float(np.median(shift)), int(varied.sum()))
