"""Figures of a run's maps over periods and of the change between two of them; the figures of a
run itself are `asm_db.runs.plots`.

Figures are `matplotlib.figure.Figure` objects drawn without pyplot, so making them neither
needs a display nor changes the backend of a program that imports asmdb.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from sqlalchemy.engine import Engine

from asm_db.change.classes import CHANGE_CLASSES, ChangeClass
from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.sqlfiles import load_sql
from asm_db.grid import Grid, feature_set_grid
from asm_db.runs.plots import _raster, tile_map


@dataclass
class PeriodMap:
    map_id: int
    feature_set: str
    period: str
    promoted: bool
    tile_id: np.ndarray
    probability: np.ndarray


@dataclass
class RunPeriods:
    """A run's maps, one per period (oldest first), and its newest change between two of them."""

    grid: Grid
    maps: list[PeriodMap]
    change: object | None  # asm_db.change.compute.Change
    change_tile_id: np.ndarray
    change_class: np.ndarray  # class names
    change_estimate: dict | None = None  # `asmdb review estimate --change`, when made


def load_run_periods(engine: Engine, run_id: int) -> RunPeriods:
    from asm_db.change.compute import get_change

    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        maps, grid = [], None
        for map_id, name, start, end, feature_set_id, promoted in pg.execute(
            load_sql("publish/run_maps_by_period"), {"run_id": run_id}
        ).fetchall():
            grid = grid or feature_set_grid(pg, feature_set_id)
            rows = pg.execute(
                load_sql("publish/map_prediction_rows"), {"map_id": map_id}
            ).fetchall()
            period = f"{start or '?'}/{end or '?'}" if start or end else "no period"
            maps.append(
                PeriodMap(
                    map_id,
                    name,
                    period,
                    promoted,
                    np.array([t for t, _ in rows], np.int64),
                    np.array([p for _, p in rows], float),
                )
            )
        found = pg.execute(load_sql("publish/run_changes"), {"run_id": run_id}).fetchone()
        change, tiles, estimate = None, [], None
        if found is not None:
            change = get_change(pg, found[0])
            estimate = pg.execute(
                "SELECT area_estimate FROM asmdb.changes WHERE change_id = %s", (found[0],)
            ).fetchone()[0]
            tiles = pg.execute(
                load_sql("publish/change_tile_classes"), {"change_id": found[0]}
            ).fetchall()
    return RunPeriods(
        grid,
        maps,
        change,
        np.array([t for t, _ in tiles], np.int64),
        np.array([c for _, c in tiles], dtype=object),
        estimate,
    )


def _on_white(change: ChangeClass) -> tuple[float, float, float]:
    """The class's colour as QGIS shows it over a white page."""
    *rgb, _ = change.rgba
    return tuple((v * change.opacity + 255 * (1 - change.opacity)) / 255 for v in rgb)


# Drawn in this order of precedence when a pixel holds several tiles (the largest code wins).
CHANGE_CODES = {c.name: c.precedence for c in CHANGE_CLASSES}
CHANGE_COLORS = tuple(
    _on_white(c) for c in sorted(CHANGE_CLASSES, key=lambda change: change.precedence)
)


def change_map(grid: Grid, tile_id: np.ndarray, classes: np.ndarray, title: str) -> Figure:
    """A change map in the QGIS style's colours: new mining warm, gone cool, persistent grey."""
    from matplotlib.patches import Patch

    codes = np.array([CHANGE_CODES[c] for c in classes], float)
    image, extent = _raster(grid, tile_id, codes)
    fig = Figure(figsize=(7, 7))
    ax = fig.subplots()
    ax.imshow(
        image,
        origin="lower",
        extent=extent,
        cmap=ListedColormap(CHANGE_COLORS),
        norm=BoundaryNorm(np.arange(-0.5, len(CHANGE_COLORS)), len(CHANGE_COLORS)),
        interpolation="nearest",
    )
    ax.legend(
        handles=[
            Patch(facecolor=_on_white(c), edgecolor="#444", label=c.name.replace("_", " "))
            for c in CHANGE_CLASSES
        ],
        loc="upper right",
        fontsize="small",
    )
    ax.set_title(title)
    ax.set_xlabel("Longitude")
    ax.set_ylabel("Latitude")
    fig.tight_layout()
    return fig


def period_figures(periods: RunPeriods) -> dict[str, Figure]:
    """The probability map of each period, then the change map."""
    figures = {}
    for m in periods.maps:
        figures[f"map-{m.map_id}"] = tile_map(
            periods.grid,
            m.tile_id,
            m.probability,
            f"{m.period} (map {m.map_id}, '{m.feature_set}')",
            "Probability of mining",
            classes=True,
        )
    c = periods.change
    if c is not None and len(periods.change_tile_id):
        figures[f"change-{c.change_id}"] = change_map(
            periods.grid,
            periods.change_tile_id,
            periods.change_class,
            f"Change {c.change_id}: map {c.from_map} -> map {c.to_map}",
        )
    return figures
