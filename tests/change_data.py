"""Two periods of the sample data and a change between them, made once as a user would: the
template the change-review and zone tests start from, and the sample's true change per tile."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import invoke_asmdb, throwaway_db

REFERENCE = {(0, 1): "new", (1, 0): "gone", (1, 1): "persistent", (0, 0): "absent"}


@pytest.fixture(scope="module")
def changed_template(template_db, sample):
    """A template holding two periods of the sample, run 1 trained on the first, its map of
    the second (map 2) and change 1 from map 1 to map 2, made as a user would."""
    with throwaway_db(template_db) as url:
        steps = [
            ("ingest", "labels", str(sample.labels)),
            ("ingest", "features", str(sample.features), "--feature-set", "y2019"),
            ("--period", "2019-01-01/2019-12-31"),
            ("ingest", "features", str(sample.later_features), "--feature-set", "y2024"),
            ("--period", "2024-01-01/2024-12-31"),
            ("train", "--feature-set", "y2019", "--cv", "seed", "--bootstrap", "0"),
            ("predict", "--run", "1", "--feature-set", "y2024"),
            ("change", "--from", "1", "--to", "2"),
        ]
        commands, current = [], []
        for step in steps:  # a step starting with an option continues the one before
            if step[0].startswith("--"):
                current += step
            else:
                if current:
                    commands.append(current)
                current = list(step)
        commands.append(current)
        for args in commands:
            done = invoke_asmdb(url, *args)
            assert done.code == 0, (args, done.stderr)
        yield url.rsplit("/", 1)[1]


def true_change(sample) -> dict[str, str]:
    """image_id -> the tile's true change class, from the truth of both periods."""
    first = dict(pd.read_csv(sample.truth).itertuples(index=False, name=None))
    later = dict(pd.read_csv(sample.later_truth).itertuples(index=False, name=None))
    return {i: REFERENCE[(first[i], later[i])] for i in first}
