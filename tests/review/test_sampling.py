"""Which tiles a review queue takes, with no database (asm_db.review.sampling)."""

import numpy as np

from asm_db.review.sampling import (
    CLASS_NAMES,
    HOTSPOT,
    SAMPLE,
    UNCERTAIN,
    Candidates,
    choose_tiles,
    stratified_sample,
)

OPTIONS = dict(
    hotspots=3, uncertain=2, per_stratum=2, threshold=0.5, min_label_distance=0.01, spacing=0.05
)


def _candidates(probability, klass, unlabelled=None) -> Candidates:
    n = len(probability)
    return Candidates(
        tile_id=np.arange(100, 100 + n, dtype=np.int64),
        probability=np.array(probability, dtype=float),
        klass=np.array(klass),
        lon=np.arange(n) * 0.1,  # every pair of tiles farther apart than the spacing
        lat=np.zeros(n),
        unlabelled=np.ones(n, bool) if unlabelled is None else np.array(unlabelled),
    )


def test_the_sample_takes_per_stratum_tiles_of_each_class_with_their_inclusion_probability():
    first, second = list(CLASS_NAMES)[:2]
    klass = np.array([first] * 8 + [second] * 1)
    drawn = stratified_sample(klass, 2, np.random.default_rng(7))
    assert [(name, inclusion) for _, name, inclusion in drawn] == [
        (CLASS_NAMES[first], 0.25),
        (CLASS_NAMES[first], 0.25),
        (CLASS_NAMES[second], 1.0),
    ]
    assert all(klass[i] == k for (i, _, _), k in zip(drawn, [first, first, second], strict=True))
    again = stratified_sample(klass, 2, np.random.default_rng(7))
    assert drawn == again  # the seed decides


def test_hotspots_are_the_likeliest_unsampled_tiles_then_the_tiles_nearest_the_threshold():
    top = max(CLASS_NAMES)
    probability = [0.9, 0.8, 0.7, 0.52, 0.45, 0.1]
    choice = choose_tiles(
        _candidates(probability, [top] * 6), {}, **{**OPTIONS, "per_stratum": 0}, seed=1
    )
    assert [(r[0], r[2]) for r in choice.rows] == [
        (100, HOTSPOT),
        (101, HOTSPOT),
        (102, HOTSPOT),
        (103, UNCERTAIN),
        (104, UNCERTAIN),
    ]
    assert (choice.hotspots, choice.uncertain, choice.notes) == (3, 2, [])


def test_a_tile_is_queued_once_and_never_for_another_reason_than_it_was_queued_for_before():
    top = max(CLASS_NAMES)
    candidates = _candidates([0.9, 0.8, 0.7, 0.6], [top] * 4, unlabelled=[True, True, True, False])
    choice = choose_tiles(candidates, {100: UNCERTAIN}, **{**OPTIONS, "per_stratum": 1}, seed=3)
    ids = [r[0] for r in choice.rows]
    assert len(ids) == len(set(ids))
    sampled = [r[0] for r in choice.rows if r[2] == SAMPLE]
    assert len(sampled) == 1 and choice.sampled == {CLASS_NAMES[top]: 1}
    hot = [r[0] for r in choice.rows if r[2] == HOTSPOT]
    assert 103 not in hot and not set(hot) & set(sampled)  # labelled, or taken by the sample
    assert 100 not in hot  # queued earlier as uncertain
    assert choice.notes and choice.notes[0].startswith(f"{len(hot)} hotspots of 3")
