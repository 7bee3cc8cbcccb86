"""The options of a training run and their defaults, in one place: the library's dataclasses
hold the seed's choices and `asmdb train` reads its option defaults from them. Nothing here
imports scikit-learn, so the command line starts fast; `asm_db.modeling.protocols` and
`asm_db.modeling.estimators` implement the protocols and models named here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

PROTOCOLS = ("spatial", "seed")
MODEL_NAMES = ("ridge", "logistic", "random-forest", "gradient-boosting")
# The seed's ridge alphas, searched by cross-validation.
SEED_ALPHAS = (0.01, 0.1, 1.0, 10.0)
# Bootstrap resamples behind each metric's 95% interval.
DEFAULT_BOOTSTRAP = 200
# Spatial CV block edges (degrees) that `block_size="auto"` chooses from, largest first, and
# the blocks it wants in each outer fold.
BLOCK_SIZES = (1.0, 0.5, 0.25, 0.1, 0.05, 0.025, 0.01)
BLOCKS_PER_FOLD = 3
# How scores become probabilities (`asm_db.modeling.calibration`); "auto" chooses between them.
CALIBRATIONS = ("isotonic", "sigmoid")
CALIBRATION_CHOICES = ("auto", *CALIBRATIONS)
# The block size runs recorded before "auto" existed ran with when they recorded none.
LEGACY_BLOCK_SIZE = 0.5


@dataclass(frozen=True)
class LabelFilters:
    """The seed's label quality filters, applied at training time; defaults are the seed's.

    `asmdb.filtered_labels()` in SQL has the same defaults (a test keeps them equal).
    `observed_within` (days, not the seed's: None) keeps only the labels observed within that
    many days of the feature set's period, and drops the undated ones."""

    min_proportion_inspected: float = 0.2
    exclude_mine_types: tuple[str, ...] = ("commercial",)
    min_confidence: float = 3
    observed_within: int | None = None

    def params(self) -> dict:
        """The filters as a run records them (`observed_within` only when set)."""
        out = {
            "min_proportion_inspected": self.min_proportion_inspected,
            "exclude_mine_types": list(self.exclude_mine_types),
            "min_confidence": self.min_confidence,
        }
        if self.observed_within is not None:
            out["observed_within"] = self.observed_within
        return out

    def window(
        self, period_start: date | None, period_end: date | None
    ) -> tuple[date | None, date | None]:
        """The dates a label's `observed_at` must lie between (both None: no date filter):
        the period widened by `observed_within` days each side; an open end stays open."""
        if self.observed_within is None:
            return None, None
        days = min(self.observed_within, (date.max - date.min).days)
        return (
            _shifted(period_start, -days) if period_start is not None else None,
            _shifted(period_end, days) if period_end is not None else None,
        )


def _shifted(day: date, days: int) -> date:
    """`day` moved by `days`, held within the dates Python and PostgreSQL both hold."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.min if days < 0 else date.max


@dataclass(frozen=True)
class Protocol:
    """How a run is fitted and evaluated; the seed's choices are the defaults it shares.

    `block_size` is the spatial CV block edge in degrees, or "auto": the largest of
    `BLOCK_SIZES` that leaves at least `BLOCKS_PER_FOLD` blocks per outer fold.

    `calibration` is "isotonic", "sigmoid" or "auto" (the one with the lower held-out Brier
    score); None means the protocol's default: "auto" for spatial CV, "isotonic" for the seed
    protocol (the notebook's calibration, so `--cv seed` reproduces it unchanged)."""

    cv: str = "spatial"
    model: str = "ridge"
    block_size: float | str = "auto"
    test_size: float = 0.2
    random_state: int = 1991
    alphas: tuple[float, ...] = SEED_ALPHAS
    folds: int = 5
    scoring: str = "roc_auc"
    n_jobs: int = -1
    bootstrap: int = DEFAULT_BOOTSTRAP
    calibration: str | None = None

    @property
    def calibration_requested(self) -> str:
        """The calibration asked for, the protocol's default filled in."""
        if self.calibration is not None:
            return self.calibration
        return "isotonic" if self.cv == "seed" else "auto"
