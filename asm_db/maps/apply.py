"""A model applied to every tile of a feature set, then recorded as a map: how `asmdb train`
and `asmdb predict` both make theirs."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg

from asm_db.db import locks
from asm_db.features.record import FeatureSet, tile_count
from asm_db.maps import READERS
from asm_db.maps.predict import OpenConnection, TilePredictions, predict_tiles
from asm_db.maps.write import MapWritten, record_map

if TYPE_CHECKING:
    from asm_db.modeling.protocols import CalibratedClassifier


@dataclass
class ScoredTiles:
    """Every tile of a feature set scored by a model: a map not yet recorded."""

    feature_set: FeatureSet
    predictions: TilePredictions
    seconds: float

    def record(
        self,
        pg: psycopg.Connection,
        *,
        run_id: int,
        promote: bool = True,
        notify: locks.Notify | None = None,
    ) -> MapWritten:
        """Record the scores as run `run_id`'s map in `pg`'s transaction (see `record_map`)."""
        return record_map(
            pg,
            run_id=run_id,
            feature_set_id=self.feature_set.feature_set_id,
            predictions=self.predictions,
            promote=promote,
            notify=notify,
        )


def score_feature_set(
    pg: psycopg.Connection,
    model: CalibratedClassifier,
    feature_set: FeatureSet,
    *,
    open_connection: OpenConnection | None = None,
    readers: int = READERS,
    progress: Callable[[int, int], None] | None = None,
) -> ScoredTiles:
    """Score every tile of `feature_set` with `model` (see `predict_tiles`); `progress` sees
    the tiles scored so far and the tiles of the set."""
    tiles = tile_count(pg, feature_set.feature_set_id) if progress else None
    started = time.perf_counter()
    predictions = predict_tiles(
        pg,
        model,
        feature_set.feature_set_id,
        feature_set.n_features,
        open_connection=open_connection,
        readers=readers,
        progress=(lambda done: progress(done, tiles)) if progress else None,
    )
    return ScoredTiles(feature_set, predictions, time.perf_counter() - started)
