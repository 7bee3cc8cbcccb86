"""The options of a training run and their defaults, in one place: the library's dataclasses
hold the seed's choices and `asmdb train` reads its option defaults from them. Nothing here
imports scikit-learn, so the command line starts fast; `asm_db.modeling.protocols` and
`asm_db.modeling.estimators` implement the protocols and models named here."""

from __future__ import annotations

from dataclasses import dataclass

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
# The block size runs recorded before "auto" existed ran with when they recorded none.
LEGACY_BLOCK_SIZE = 0.5


@dataclass(frozen=True)
class LabelFilters:
    """The seed's label quality filters, applied at training time; defaults are the seed's.

    `asmdb.filtered_labels()` in SQL has the same defaults (a test keeps them equal)."""

    min_proportion_inspected: float = 0.2
    exclude_mine_types: tuple[str, ...] = ("commercial",)
    min_confidence: float = 3

    def params(self) -> dict:
        return {
            "min_proportion_inspected": self.min_proportion_inspected,
            "exclude_mine_types": list(self.exclude_mine_types),
            "min_confidence": self.min_confidence,
        }


@dataclass(frozen=True)
class Protocol:
    """How a run is fitted and evaluated; the seed's choices are the defaults it shares.

    `block_size` is the spatial CV block edge in degrees, or "auto": the largest of
    `BLOCK_SIZES` that leaves at least `BLOCKS_PER_FOLD` blocks per outer fold."""

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
