"""`asmdb sample-data`: a small realistic data set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from asm_db.cli.common import SEED_MAX, SEED_MIN


def sample_data(
    out_dir: Annotated[
        Path, typer.Argument(help="Folder for SLE_mines.csv and SLE_features.feather.")
    ],
    tiles_per_side: Annotated[int, typer.Option(help="Grid of N x N tiles.", min=4)] = 40,
    features: Annotated[int, typer.Option(help="Features per tile.", min=1)] = 4000,
    labels: Annotated[int, typer.Option(help="Number of labels.", min=10)] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed.", min=SEED_MIN, max=SEED_MAX)] = 7,
) -> None:
    """Write a small realistic data set in the seed's two file formats."""
    from asm_db.ingest.sample import write_sample_data

    data = write_sample_data(
        out_dir,
        n_lat=tiles_per_side,
        n_lon=tiles_per_side,
        n_features=features,
        n_labels=labels,
        seed=seed,
    )
    print(f"{data.labels}: {data.n_labels} labels")
    print(f"{data.features}: {data.n_tiles} tiles x {data.n_features} features")
    print(f"{data.imagery}: red, green, blue reflectance in UTM 29N, for `asmdb featurize`")
    print(
        f"{data.later_features}: the same tiles in a later period (mining opened and stopped), "
        "for `asmdb predict` and `asmdb change`"
    )
    print(f"{data.later_imagery}: the later period's imagery (`asmdb featurize --like`)")
