"""A run's counts as people read them: in the order the data went through training, with plain
names, and the train/test split only where there is one (the seed protocol)."""

from __future__ import annotations


def count_rows(counts: dict, protocol: str, filters: dict | None = None) -> list[tuple[str, int]]:
    """(plain name, value) for each count the run recorded, in a fixed order: labels through
    each filter, joined to tiles, the rows fitted and their classes, how they were split, the
    tiles mapped. Counts recorded by later versions and not named here follow under their own
    names."""
    filters = filters or {}
    inspected = filters.get("min_proportion_inspected")
    confidence = filters.get("min_confidence")
    excluded = ", ".join(filters.get("exclude_mine_types", [])) or "none"
    days = filters.get("observed_within")
    named = [
        ("labels", "labels in the database"),
        (
            "after_proportion_inspected",
            "labels inspected enough"
            + (f" (share >= {inspected:g}; mines always kept)" if inspected is not None else ""),
        ),
        ("after_mine_type", f"labels left after excluding mine types ({excluded})"),
        (
            "after_confidence",
            "labels confident enough"
            + (f" (confidence >= {confidence:g})" if confidence is not None else ""),
        ),
        (
            "after_observed_within",
            "labels observed near the feature set's period"
            + (f" (within {days} days)" if days is not None else ""),
        ),
        ("undated_dropped", "undated labels dropped"),
        ("labels_after_filters", "labels used for training"),
        ("labels_joined", "labels lying on a tile"),
        ("training_rows", "training rows (one per label and tile it touches)"),
        ("positives", "rows labelled mine"),
        ("not_mines", "rows labelled not mine"),
    ]
    if protocol == "seed":
        named += [
            ("train", "rows used to fit the model (seed protocol's training split)"),
            ("test", "rows held out to test it (and fit its calibration)"),
        ]
    else:
        named += [("spatial_blocks", "spatial blocks (each held out whole in one fold)")]
    named += [("tiles_predicted", "tiles mapped")]
    values = dict(counts)
    if "training_rows" in values and "positives" in values:
        values["not_mines"] = values["training_rows"] - values["positives"]
    rows = [(name, int(values[key])) for key, name in named if key in values]
    shown = {key for key, _ in named} | {"train", "test", "spatial_blocks"}
    rows += [
        (key.replace("_", " "), value)
        for key, value in counts.items()
        if key not in shown and not isinstance(value, dict)
    ]
    return rows
