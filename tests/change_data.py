"""The sample's true change per tile, from the truth of both periods (the change-review and zone
tests answer their samples with it)."""

from __future__ import annotations

import pandas as pd

REFERENCE = {(0, 1): "new", (1, 0): "gone", (1, 1): "persistent", (0, 0): "absent"}


def true_change(sample) -> dict[str, str]:
    """image_id -> the tile's true change class, from the truth of both periods."""
    first = dict(pd.read_csv(sample.truth).itertuples(index=False, name=None))
    later = dict(pd.read_csv(sample.later_truth).itertuples(index=False, name=None))
    return {i: REFERENCE[(first[i], later[i])] for i in first}
