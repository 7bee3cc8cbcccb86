"""Figures of a run, drawn from what the database holds about it: class balance, ROC and
precision-recall curves, reliability diagram (with the rows in each bin), probability map (its
classes shown as ranges), maps of the top features.

Figures are `matplotlib.figure.Figure` objects drawn without pyplot, so making them neither
needs a display nor changes the backend of a program that imports asmdb.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg
from matplotlib import colormaps
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve
from sqlalchemy.engine import Engine

from asm_db import probability_classes
from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import NotFound
from asm_db.features.record import run_feature_set
from asm_db.features.vectors import tile_feature_batches
from asm_db.grid import Grid, feature_set_grid
from asm_db.maps.registry import resolve_map
from asm_db.runs.registry import RunSummary, get_run
from asm_db.staging import StagedFiles, check_output_dir

FEATURE_MAPS = 3
# The largest side of a map image, in pixels: a 2,000 x 2,000 float image is 32 MB.
MAX_SIDE = 2000


@dataclass
class RunData:
    """What the figures of one run are drawn from."""

    run: RunSummary
    grid: Grid  # the grid of the run's feature set: where its tiles are drawn
    y: np.ndarray
    score: np.ndarray
    raw_probability: np.ndarray
    probability: np.ndarray
    tile_id: np.ndarray
    tile_probability: np.ndarray
    feature_tile_id: np.ndarray
    feature_values: np.ndarray  # tiles x top features


def load_run_data(engine: Engine, run_id: int, n_feature_maps: int = FEATURE_MAPS) -> RunData:
    with connect(engine) as conn:
        check_ready(conn)
        return read_run_data(driver(conn), run_id, n_feature_maps)


def read_run_data(
    pg: psycopg.Connection, run_id: int, n_feature_maps: int = FEATURE_MAPS
) -> RunData:
    """What the figures of run `run_id` are drawn from, read on `pg` (which may be the
    transaction still writing the run)."""
    run = get_run(pg, run_id)
    evaluated = pg.execute(load_sql("publish/run_evaluation_rows"), {"run_id": run_id}).fetchall()
    try:
        map_id = resolve_map(pg, run_id=run_id).map_id
    except NotFound:
        map_id = None  # a run trained without a map: no map figure
    tiles = pg.execute(load_sql("publish/map_prediction_rows"), {"map_id": map_id}).fetchall()
    top = run.metrics.get("top_features", [])[:n_feature_maps]
    columns = [f["index"] for f in top]
    trained = run_feature_set(pg, run_id)
    feature_set_id, n_features = trained.feature_set_id, trained.n_features
    grid = feature_set_grid(pg, feature_set_id)
    ids, values = [np.empty(0, np.int64)], [np.empty((0, len(columns)))]
    if columns:
        for batch_ids, features in tile_feature_batches(pg, feature_set_id, n_features):
            ids.append(batch_ids)
            values.append(features[:, columns].astype(float))
    ev = np.array(evaluated, dtype=float).reshape(-1, 5)
    return RunData(
        run=run,
        grid=grid,
        y=ev[:, 0].astype(int),
        score=ev[:, 1],
        raw_probability=ev[:, 2],
        probability=ev[:, 3],
        tile_id=np.array([t for t, _ in tiles], dtype=np.int64),
        tile_probability=np.array([p for _, p in tiles], dtype=float),
        feature_tile_id=np.concatenate(ids).astype(np.int64),
        feature_values=np.concatenate(values),
    )


CLASS_NAMES = {"0": "not mine (0)", "1": "mine (1)"}


def class_balance(counts_by_class: dict[str, int]) -> Figure:
    fig = Figure(figsize=(5, 2.5))
    ax = fig.subplots()
    classes = sorted(counts_by_class)
    ax.barh(
        [CLASS_NAMES.get(c, c) for c in classes],
        [counts_by_class[c] for c in classes],
        color=colormaps["Dark2"](range(len(classes))),
    )
    ax.set_xlabel("labels after filters")
    ax.set_ylabel("label")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def _unit_square(fig: Figure, ax, legend: str) -> Figure:
    """Finish a curve plotted on [0, 1] x [0, 1]."""
    ax.legend(loc=legend)
    ax.grid(True, alpha=0.3)
    ax.set_xlim([-0.01, 1.01])
    ax.set_ylim([-0.01, 1.01])
    fig.tight_layout()
    return fig


def roc_curves(y, score, probability, auc_uncal: float, auc_cal: float, note: str = "") -> Figure:
    fpr_u, tpr_u, _ = roc_curve(y, score)
    fpr_c, tpr_c, _ = roc_curve(y, probability)
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    ax.plot(fpr_u, tpr_u, "b-", label=f"Before calibration (ROC AUC = {auc_uncal:.3f})")
    ax.plot(fpr_c, tpr_c, "r-", label=f"After calibration (ROC AUC = {auc_cal:.3f})")
    ax.plot([0, 1], [0, 1], "k--", label="Chance")
    ax.set_xlabel("False positive rate (share of not-mine rows called mine)")
    ax.set_ylabel("True positive rate (share of mine rows found)")
    ax.set_title("ROC Curves - Before and After Calibration" + (f"\n{note}" if note else ""))
    return _unit_square(fig, ax, "lower right")


def pr_curves(y, score, probability, pr_auc_uncal: float, pr_auc_cal: float) -> Figure:
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    for values, style, name, pr_auc in (
        (score, "b-", "Before calibration", pr_auc_uncal),
        (probability, "r-", "After calibration", pr_auc_cal),
    ):
        precision, recall, _ = precision_recall_curve(y, values)
        ax.plot(recall, precision, style, label=f"{name} (PR AUC = {pr_auc:.3f})")
    ax.axhline(
        np.mean(y), color="k", linestyle="--", label=f"Chance: positive rate ({np.mean(y):.2f})"
    )
    ax.set_xlabel("Recall (share of mine rows found)")
    ax.set_ylabel("Precision (share of rows called mine that are mines)")
    ax.set_title("Precision-Recall")
    return _unit_square(fig, ax, "upper right")


def bin_counts(probability: np.ndarray, bins: int = 10) -> np.ndarray:
    """Rows in each of `bins` equal-width probability bins, as the reliability curve bins them
    (scikit-learn's calibration_curve bins: an edge belongs to the bin below it)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.searchsorted(edges[1:-1], np.asarray(probability, float))
    return np.bincount(which, minlength=bins)


def reliability(y, raw_probability, probability, bins: int = 10) -> Figure:
    """Observed share of mines against the predicted probability, before and after
    calibration, over a bar chart of how many rows (after calibration) each bin holds, each
    bar labelled with its count: a point resting on few rows says little."""
    fig = Figure(figsize=(5, 6.5))
    ax, counts_ax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.plot([0, 1], [0, 1], "k--", label="Perfectly calibrated")
    for values, style, name in (
        (raw_probability, "bs-", "Before calibration"),
        (probability, "ro-", "After calibration"),
    ):
        observed, predicted = calibration_curve(y, values, n_bins=bins, strategy="uniform")
        ax.plot(predicted, observed, style, label=name)
    ax.set_ylabel("Observed share of mines")
    ax.set_title("Reliability diagram")
    ax.legend(loc="upper left")
    ax.grid(True, alpha=0.3)
    ax.set_ylim([-0.01, 1.01])
    counts = bin_counts(probability, bins)
    width = 1.0 / bins
    centres = (np.arange(bins) + 0.5) * width
    drawn = counts_ax.bar(centres, counts, width=width * 0.9, color="#d62728", alpha=0.6)
    counts_ax.bar_label(drawn, labels=[str(c) if c else "" for c in counts], fontsize="x-small")
    counts_ax.set_ylabel("rows in bin")
    counts_ax.set_xlabel("Predicted probability of a mine (after calibration, for the bars)")
    counts_ax.set_xlim([-0.01, 1.01])
    counts_ax.set_ylim([0, max(int(counts.max()), 1) * 1.25])
    fig.tight_layout()
    return fig


def _raster(grid: Grid, tile_id: np.ndarray, values: np.ndarray, max_side: int = MAX_SIDE):
    """The tiles as an image over the data's extent, at most `max_side` pixels a side: a pixel
    is a cell, or (for data spread wider) a square of cells showing its largest value, so the
    memory a map takes is bounded whatever the spread (two tiles at opposite corners of the
    world make a small image). Returns the image and its (west, east, south, north)."""
    row, col = grid.cell_indices(tile_id)
    r0, c0 = row.min(), col.min()
    n_rows, n_cols = row.max() - r0 + 1, col.max() - c0 + 1
    step = max(1, -(-max(n_rows, n_cols) // max_side))  # cells a pixel, the same both ways
    image = np.full((-(-n_rows // step), -(-n_cols // step)), np.nan)
    np.fmax.at(image, ((row - r0) // step, (col - c0) // step), np.asarray(values, float))
    extent = (
        grid.origin_lon + c0 * grid.cell_size,
        grid.origin_lon + (c0 + image.shape[1] * step) * grid.cell_size,
        grid.origin_lat + r0 * grid.cell_size,
        grid.origin_lat + (r0 + image.shape[0] * step) * grid.cell_size,
    )
    return image, extent


def tile_map(
    grid: Grid,
    tile_id: np.ndarray,
    values: np.ndarray,
    title: str,
    label: str,
    cmap: str = "viridis",
    limits=(0, 1),
    classes: bool = False,
) -> Figure:
    """Tiles on their grid as one raster image (a pixel a cell): fast and small whatever the tile count.
    With `classes`, values are probabilities drawn in the map's fixed classes and colours
    (`asm_db.probability_classes`), as QGIS draws them."""
    image, extent = _raster(grid, tile_id, values)
    fig = Figure(figsize=(7, 7))
    ax = fig.subplots()
    if classes:
        colours = ListedColormap(probability_classes.COLORS)
        scale = {"norm": BoundaryNorm(probability_classes.BREAKS, len(probability_classes.COLORS))}
        label = f"{label}, by class"
    else:
        colours = cmap
        vmin, vmax = limits if limits is not None else np.nanpercentile(values, [2, 98])
        scale = {"vmin": vmin, "vmax": vmax}
    shown = ax.imshow(
        image, origin="lower", extent=extent, cmap=colours, interpolation="nearest", **scale
    )
    bar = fig.colorbar(shown, ax=ax, label=label, shrink=0.8)
    if classes:  # each class as the range it holds, as the QGIS legend shows it
        bar.set_ticks([(c.lower + c.upper) / 2 for c in probability_classes.CLASSES])
        bar.set_ticklabels([c.label for c in probability_classes.CLASSES])
        bar.ax.tick_params(length=0)
    ax.set_title(title)
    ax.set_xlabel("Longitude")
    ax.set_ylabel("Latitude")
    fig.tight_layout()
    return fig


def run_figures(data: RunData) -> dict[str, Figure]:
    """Every figure of a run, by file-name stem."""
    m = data.run.metrics
    run_id = data.run.run_id
    figures = {}
    by_class = data.run.counts.get("labels_by_class")
    if by_class:
        figures["class-balance"] = class_balance(by_class)
    if len(data.y) and len(np.unique(data.y)) == 2:
        note = (
            "seed protocol: calibrated and scored on the same test rows"
            if data.run.protocol == "seed"
            else "spatial CV: out-of-fold"
        )
        figures["roc"] = roc_curves(
            data.y, data.score, data.probability, m["auc_uncalibrated"], m["auc_calibrated"], note
        )
        if "pr_auc_calibrated" in m:
            figures["precision-recall"] = pr_curves(
                data.y,
                data.score,
                data.probability,
                m["pr_auc_uncalibrated"]["value"],
                m["pr_auc_calibrated"]["value"],
            )
            figures["reliability"] = reliability(data.y, data.raw_probability, data.probability)
    if len(data.tile_id):
        figures["probability-map"] = tile_map(
            data.grid,
            data.tile_id,
            data.tile_probability,
            f"Probability of mining (ASM), run {run_id}",
            "Probability of mining",
            classes=True,
        )
    for i, feature in enumerate(m.get("top_features", [])[: data.feature_values.shape[1]]):
        figures[f"feature-{i + 1}-{_file_safe(feature['feature'])}"] = tile_map(
            data.grid,
            data.feature_tile_id,
            data.feature_values[:, i],
            f"{feature['feature']} (importance {feature['importance']:.3g}), run {run_id}",
            feature["feature"],
            cmap="magma",
            limits=None,
        )
    return figures


def _file_safe(name: str) -> str:
    """A feature name as part of a file name: anything but letters, digits, '.', '-' and '_'
    (a '/', say) becomes '_'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:80] or "feature"


def plot_run(engine: Engine, run_id: int, out_dir: Path) -> list[Path]:
    """Write every figure of a run as PNG into `out_dir`; returns their paths."""
    with StagedFiles() as staged, connect(engine) as conn:
        check_ready(conn)
        stage_run_plots(driver(conn), run_id, out_dir, staged)
    return staged.published


def stage_run_plots(
    pg: psycopg.Connection, run_id: int, out_dir: Path, staged: StagedFiles
) -> None:
    """Draw every figure of a run as PNG under a temporary name in `out_dir`: the files get
    their names when `staged` is published (after the run's transaction commits)."""
    check_output_dir(out_dir, "--plots")
    for stem, fig in run_figures(read_run_data(pg, run_id)).items():
        path = staged.add(out_dir / f"run-{run_id}-{stem}.png")
        fig.savefig(path, dpi=100, format="png")
