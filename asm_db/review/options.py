"""The review loop's options and their defaults, in one place: `make_queue` and
`estimate_area` take their defaults from here and `asmdb review` reads its option defaults from
here. Nothing heavy is imported, so the command line starts fast."""

from __future__ import annotations

from dataclasses import dataclass

from asm_db.probability_classes import MAP_THRESHOLD

# The longest notes and reviewer name a review takes, from the web page and from a file alike.
MAX_NOTES = 4000
MAX_REVIEWER = 200


@dataclass(frozen=True)
class QueueOptions:
    """How many tiles of each kind a review queue takes, and how they are spread."""

    hotspots: int = 20  # most likely tiles with no label nearby
    uncertain: int = 20  # tiles nearest the threshold
    per_stratum: int = 20  # random tiles per probability class (for area estimates)
    threshold: float = MAP_THRESHOLD
    min_label_distance: float = 0.02  # degrees: hotspots/uncertain have no label this near
    spacing: float = 0.03  # degrees: hotspots/uncertain at least this far apart
    seed: int = 1991  # seed of the random sample


@dataclass(frozen=True)
class ChangeQueueOptions:
    """How many tiles a change's review sample takes (strata: the change classes)."""

    sample_size: int = 300  # in all, when the minimums leave room
    min_per_stratum: int = 50  # at least this many per change class (all, where fewer)
    seed: int = 1991  # seed of the random sample


@dataclass(frozen=True)
class PlanOptions:
    """How a sample plan shares its tiles (Olofsson et al. 2014, section 5.1)."""

    min_per_stratum: int = 50  # at least this many in each stratum (all, where fewer)
