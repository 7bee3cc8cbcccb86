"""Which tiles a review queue takes, and with what inclusion probabilities: pure functions of
the candidate tiles and a seed, with no database (asm_db.review.queue reads the candidates
and writes the queue around them).

The stratified sample is drawn first, at random, whatever else is queued; then hotspots (the
most likely unlabelled tiles at or above the threshold) and uncertain tiles (probability
nearest the threshold), each spread at least `spacing` degrees apart. A tile is queued once,
for one reason: the sample's, else hotspot, else uncertain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from asm_db.probability_classes import CLASSES
from asm_db.review.estimation import draw

# The strata of the stratified sample: the map's probability classes, by class number.
CLASS_NAMES = {c.number: c.stratum for c in CLASSES}
HOTSPOT, UNCERTAIN, SAMPLE = "hotspot", "uncertain", "stratified sample"


@dataclass(frozen=True)
class Candidates:
    """The tiles of a map a queue may take, one array element per tile."""

    tile_id: np.ndarray  # int64
    probability: np.ndarray
    klass: np.ndarray  # probability class number (asm_db.probability_classes)
    lon: np.ndarray
    lat: np.ndarray
    unlabelled: np.ndarray  # bool: no label within the minimum distance

    @classmethod
    def from_rows(cls, rows: Sequence[tuple]) -> Candidates:
        """From rows of (tile_id, probability, class, lon, lat, near_label)."""
        return cls(
            np.array([r[0] for r in rows], dtype=np.int64),
            np.array([r[1] for r in rows], dtype=float),
            np.array([r[2] for r in rows], dtype=int),
            np.array([r[3] for r in rows], dtype=float),
            np.array([r[4] for r in rows], dtype=float),
            ~np.array([r[5] for r in rows], dtype=bool),
        )


@dataclass(frozen=True)
class QueueChoice:
    """The rows to queue, (tile_id, stratum, reason, inclusion probability or None), hotspots
    first, then uncertain tiles, then the sample; and how many of each."""

    rows: list[tuple[int, str, str, float | None]]
    hotspots: int
    uncertain: int
    sampled: dict[str, int]
    notes: list[str] = field(default_factory=list)  # why fewer tiles than asked for


def stratified_sample(
    klass: np.ndarray, per_stratum: int | Mapping[str, int], rng: np.random.Generator
) -> list[tuple[int, str, float]]:
    """(index, stratum, inclusion probability) of up to `per_stratum` tiles (or as many as it
    gives each stratum by name: a plan's sizes) drawn at random without replacement from each
    probability class, by class number then index (the one stratified draw,
    `asm_db.review.estimation.draw`)."""
    members = {name: np.flatnonzero(klass == k) for k, name in CLASS_NAMES.items()}
    members = {name: m for name, m in members.items() if len(m)}
    if isinstance(per_stratum, Mapping):
        take = {name: int(per_stratum.get(name, 0)) for name in members}
    else:
        take = {name: per_stratum for name in members}
    return draw(members, take, rng)


def spread(
    order: np.ndarray, lon: np.ndarray, lat: np.ndarray, n: int, spacing: float
) -> list[int]:
    """Walk candidates in order, keeping those at least `spacing` degrees from every kept one."""
    kept: list[int] = []
    for i in order:
        if len(kept) == n:
            break
        if not kept or np.min(np.hypot(lon[kept] - lon[i], lat[kept] - lat[i])) >= spacing:
            kept.append(int(i))
    return kept


def choose_tiles(
    candidates: Candidates,
    queued: Mapping[int, str],
    *,
    hotspots: int,
    uncertain: int,
    per_stratum: int | Mapping[str, int],
    threshold: float,
    min_label_distance: float,
    spacing: float,
    seed: int,
) -> QueueChoice:
    """The tiles to queue from `candidates`, given the tiles already queued ({tile_id: reason})."""
    c = candidates
    rng = np.random.default_rng(seed)
    drawn = stratified_sample(c.klass, per_stratum, rng)
    sample = [(int(c.tile_id[i]), name, SAMPLE, inclusion) for i, name, inclusion in drawn]
    sampled = {
        name: sum(1 for row in drawn if row[1] == name)
        for k, name in CLASS_NAMES.items()
        if (c.klass == k).any()
    }
    taken = {row[0] for row in sample}

    def open_to(reason: str) -> np.ndarray:
        """Unlabelled tiles neither taken in this queue nor queued for another reason."""
        other = [t for t, r in queued.items() if r != reason]
        return c.unlabelled & ~np.isin(c.tile_id, list(taken) + other)

    free = np.flatnonzero(open_to(HOTSPOT) & (c.probability >= threshold))
    hot = spread(
        free[np.argsort(-c.probability[free], kind="stable")], c.lon, c.lat, hotspots, spacing
    )
    taken |= {int(c.tile_id[i]) for i in hot}
    notes = []
    if len(hot) < hotspots:
        notes.append(
            hotspots_short(
                hotspots,
                len(hot),
                len(free),
                c.probability,
                c.unlabelled,
                threshold,
                min_label_distance,
                spacing,
            )
        )
    free = np.flatnonzero(open_to(UNCERTAIN))
    near = free[np.argsort(np.abs(c.probability[free] - threshold), kind="stable")]
    unsure = spread(near, c.lon, c.lat, uncertain, spacing)
    if len(unsure) < uncertain:
        notes.append(
            f"{len(unsure)} uncertain tiles of {uncertain}: {len(free)} unlabelled tiles "
            f"farther than {min_label_distance:g} degrees from a label and not queued for "
            f"another reason, {len(unsure)} of them at least {spacing:g} degrees apart"
        )
    rows = [(int(c.tile_id[i]), CLASS_NAMES[c.klass[i]], HOTSPOT, None) for i in hot]
    rows += [(int(c.tile_id[i]), CLASS_NAMES[c.klass[i]], UNCERTAIN, None) for i in unsure]
    rows += sample
    return QueueChoice(rows, len(hot), len(unsure), sampled, notes)


def hotspots_short(
    wanted: int,
    found: int,
    candidates: int,
    probability: np.ndarray,
    unlabelled: np.ndarray,
    threshold: float,
    min_label_distance: float,
    spacing: float,
) -> str:
    """Why a queue has fewer hotspots than asked for, in one line."""
    where = f"at or above {threshold:g} farther than {min_label_distance:g} degrees from a label"
    above = probability >= threshold
    if not above.any():
        top = f"{probability.max():.2f}" if len(probability) else "none"
        return f"no hotspots: no tile at or above {threshold:g} (the map's highest is {top})"
    if not (above & unlabelled).any():
        return (
            f"no hotspots: no unlabelled tile {where} ({int(above.sum())} tiles at or above "
            f"{threshold:g}, each within {min_label_distance:g} degrees of a label)"
        )
    if candidates == 0:
        return (
            f"no hotspots: every unlabelled tile {where} is in the stratified sample or queued "
            "for another reason"
        )
    return (
        f"{found} hotspots of {wanted}: {candidates} unlabelled tiles {where} and not queued for "
        f"another reason (the sample's included), {found} of them at least {spacing:g} degrees "
        "apart"
    )
