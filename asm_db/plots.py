"""PNG figures of a run: class balance, ROC curves, probability map (the seed's three plots)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402

if TYPE_CHECKING:
    from asm_db.training import RunResult

# tile_id = row * GRID_COLUMNS + column on the 0.01-degree grid (see asmdb.tile_id in SQL).
GRID_COLUMNS = 36001
GRID_STEP = 0.01


def class_balance(label_counts: dict[int, int], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(5, 2.5))
    classes = sorted(label_counts)
    ax.barh(
        [str(c) for c in classes],
        [label_counts[c] for c in classes],
        color=plt.get_cmap("Dark2")(range(len(classes))),
    )
    ax.set_xlabel("labels after filters")
    ax.set_ylabel("label")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def roc_curves(y_test, score, probability, auc_uncal, auc_cal, path: Path) -> Path:
    fpr_u, tpr_u, _ = roc_curve(y_test, score)
    fpr_c, tpr_c, _ = roc_curve(y_test, probability)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(fpr_u, tpr_u, "b-", label=f"Uncalibrated (AUC = {auc_uncal:.3f})")
    ax.plot(fpr_c, tpr_c, "r-", label=f"Calibrated (AUC = {auc_cal:.3f})")
    ax.plot([0, 1], [0, 1], "k--", label="Random")
    ax.set_xlabel("False Positive Rate")
    ax.set_ylabel("True Positive Rate")
    ax.set_title("ROC Curves - Before and After Calibration")
    ax.legend(loc="lower right")
    ax.grid(True, alpha=0.3)
    ax.set_xlim([-0.01, 1.01])
    ax.set_ylim([-0.01, 1.01])
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def probability_map(
    tile_id: np.ndarray,
    probability: np.ndarray,
    path: Path,
    title: str = "Predicted ASM probability",
) -> Path:
    """Tiles on their grid as one raster image: fast and small whatever the tile count."""
    row, col = np.divmod(tile_id.astype(np.int64), GRID_COLUMNS)
    r0, c0 = row.min(), col.min()
    image = np.full((row.max() - r0 + 1, col.max() - c0 + 1), np.nan)
    image[row - r0, col - c0] = probability
    extent = (
        c0 * GRID_STEP - 180,
        (col.max() + 1) * GRID_STEP - 180,
        r0 * GRID_STEP - 90,
        (row.max() + 1) * GRID_STEP - 90,
    )
    fig, ax = plt.subplots(figsize=(8, 8))
    shown = ax.imshow(
        image,
        origin="lower",
        extent=extent,
        cmap="viridis",
        vmin=0,
        vmax=1,
        interpolation="nearest",
    )
    fig.colorbar(shown, ax=ax, label="Predicted ASM Probability", shrink=0.8)
    ax.set_title(title)
    ax.set_xlabel("Longitude")
    ax.set_ylabel("Latitude")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_run(result: RunResult, out_dir: Path) -> list[Path]:
    """Write the three figures of a run into `out_dir`; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = out_dir / f"run-{result.run_id}"
    fit = result.fit
    return [
        class_balance(result.label_counts, Path(f"{prefix}-class-balance.png")),
        roc_curves(
            fit.y_test,
            fit.score_test,
            fit.probability_test,
            fit.auc_uncalibrated,
            fit.auc_calibrated,
            Path(f"{prefix}-roc.png"),
        ),
        probability_map(
            result.predictions.tile_id,
            result.predictions.probability,
            Path(f"{prefix}-probability-map.png"),
            title=f"Predicted ASM probability, run {result.run_id}",
        ),
    ]
