"""The run's figures (asm_db.runs.plots) name classes, bins and metrics plainly."""

import numpy as np


def test_figures_name_classes_bins_and_metrics_plainly():
    from asm_db import probability_classes
    from asm_db.grid import Grid
    from asm_db.runs import plots

    rng = np.random.default_rng(0)
    y = (rng.random(300) < 0.3).astype(int)
    raw = np.clip(y * 0.3 + rng.random(300) * 0.7, 0, 1)
    probability = np.round(raw, 1)  # values on the bin edges too
    fig = plots.reliability(y, raw, probability)
    curve, bars = fig.axes[:2]
    heights = [p.get_height() for p in bars.patches]
    assert sum(heights) == len(y)
    assert heights == plots.bin_counts(probability).tolist()
    from sklearn.calibration import calibration_curve

    # A bin holds the rows its point on the curve is the mean of.
    observed, _ = calibration_curve(y, probability, n_bins=10)
    assert len(observed) == sum(h > 0 for h in heights)
    shown = [t.get_text() for t in bars.texts]
    assert [t for t in shown if t] == [str(int(h)) for h in heights if h]
    assert bars.get_ylabel() == "rows in bin"

    balance = plots.class_balance({"0": 40, "1": 10})
    assert [t.get_text() for t in balance.axes[0].get_yticklabels()] == [
        "not mine (0)",
        "mine (1)",
    ]
    pr = plots.pr_curves(y, raw, probability, 0.5, 0.4)
    legend = [t.get_text() for t in pr.axes[0].get_legend().get_texts()]
    assert any("PR AUC = 0.500" in t for t in legend) and not any("AP" in t for t in legend)
    roc = plots.roc_curves(y, raw, probability, 0.7, 0.6)
    assert "mine" in roc.axes[0].get_xlabel() and "mine" in roc.axes[0].get_ylabel()

    grid = Grid()
    tile_id = grid.tile_ids(
        np.array([8.005, 8.005, 8.015, 8.015, 8.025]),
        np.array([-12.005, -11.995, -12.005, -11.995, -12.005]),
    )
    mapped = plots.tile_map(
        grid, tile_id, np.array([0.1, 0.3, 0.5, 0.7, 0.95]), "t", "Probability", classes=True
    )
    colorbar = mapped.axes[1]
    labels = [t.get_text() for t in colorbar.get_yticklabels()]
    assert (
        labels
        == [c.label for c in probability_classes.CLASSES]
        == [
            "0.0-0.2",
            "0.2-0.4",
            "0.4-0.6",
            "0.6-0.8",
            "0.8-1.0",
        ]
    )
