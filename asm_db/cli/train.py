"""`asmdb train`: join, fit, evaluate, predict, record."""

from __future__ import annotations

import json
import math
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from asm_db.cli.common import (
    SEED_MAX,
    SEED_MIN,
    DatabaseUrl,
    Readers,
    notify,
    print_table,
    progress_bar,
)
from asm_db.db.engine import create_engine
from asm_db.maps import READERS
from asm_db.modeling.options import (
    BLOCK_SIZES,
    BLOCKS_PER_FOLD,
    CALIBRATION_CHOICES,
    MODEL_NAMES,
    PROTOCOLS,
    LabelFilters,
    Protocol,
)

# Option defaults come from the library's own dataclasses.
FILTERS, PROTOCOL = LabelFilters(), Protocol()


def _floats(text: str) -> tuple[float, ...]:
    """Ridge alphas: positive finite numbers separated by commas."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise typer.BadParameter(f"expected numbers separated by commas, got {text!r}") from None
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise typer.BadParameter(f"alphas must be positive finite numbers, got {text!r}")
    return values


def _block_size(text: str) -> float | str:
    """A block edge in degrees, or 'auto' (checked before any work)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise typer.BadParameter(f"expected a number of degrees or 'auto', got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"the block size must be a positive number, got {text!r}")
    return value


def _seed(seed: int, random_state: int | None) -> int:
    """--seed, or --random-state (its former name, still accepted)."""
    if random_state is None:
        return seed
    if seed != PROTOCOL.random_state and seed != random_state:
        raise typer.BadParameter("give --seed only (--random-state is its former name)")
    return random_state


CrossValidation = Enum("CrossValidation", {name: name for name in PROTOCOLS}, type=str)
ModelName = Enum("ModelName", {name.replace("-", "_"): name for name in MODEL_NAMES}, type=str)
Calibration = Enum("Calibration", {name: name for name in CALIBRATION_CHOICES}, type=str)
DEFAULT_CV, DEFAULT_MODEL = CrossValidation(PROTOCOL.cv), ModelName(PROTOCOL.model)


def train(
    plots: Annotated[Path | None, typer.Option(help="Write PNG figures of the run here.")] = None,
    feature_set: Annotated[
        str | None, typer.Option(help="Feature set (default: the only one).")
    ] = None,
    cv: Annotated[
        CrossValidation,
        typer.Option(
            help="Evaluation protocol: 'spatial' (blocked CV, honest) or 'seed' (the seed "
            "protocol: the original notebook's random 80/20 split, calibrated on its own test "
            "rows, so optimistic; kept to compare with the notebook).",
        ),
    ] = DEFAULT_CV,
    model: Annotated[ModelName, typer.Option(help="Classifier to fit.")] = DEFAULT_MODEL,
    calibration: Annotated[
        Calibration | None,
        typer.Option(
            help="How scores become probabilities: 'isotonic' (steps), 'sigmoid' (Platt "
            "scaling, smooth) or 'auto': the one with the lower held-out Brier score. "
            "Default: auto; with --cv seed, isotonic (the notebook's).",
            show_default=False,
        ),
    ] = None,
    block_size: Annotated[
        str,
        typer.Option(
            help="Spatial CV block edge in degrees, or 'auto': the largest of "
            f"{', '.join(f'{s:g}' for s in BLOCK_SIZES)} degrees that leaves at least "
            f"{BLOCKS_PER_FOLD} blocks per fold.",
            callback=_block_size,
        ),
    ] = str(PROTOCOL.block_size),
    min_proportion_inspected: Annotated[
        float,
        typer.Option(help="Keep labels inspected at least this much (positives always kept)."),
    ] = FILTERS.min_proportion_inspected,
    exclude_mine_type: Annotated[
        list[str] | None,
        typer.Option(
            help="Drop labels of this mine_type (repeatable; default "
            f"{', '.join(FILTERS.exclude_mine_types) or 'none'})."
        ),
    ] = None,
    min_confidence: Annotated[
        float, typer.Option(help="Keep labels with at least this confidence.")
    ] = FILTERS.min_confidence,
    observed_within: Annotated[
        int | None,
        typer.Option(
            help="Keep only labels observed within this many days of the feature set's period "
            "(undated labels are dropped).",
            min=0,
        ),
    ] = FILTERS.observed_within,
    test_size: Annotated[
        float,
        typer.Option(
            help="With --cv seed (the notebook's split): share of rows held out for testing."
        ),
    ] = PROTOCOL.test_size,
    seed: Annotated[
        int,
        typer.Option(
            help="Random seed of splits, models and bootstrap (any --cv).",
            min=SEED_MIN,
            max=SEED_MAX,
        ),
    ] = PROTOCOL.random_state,
    random_state: Annotated[
        int | None,
        typer.Option(hidden=True, help="The former name of --seed.", min=SEED_MIN, max=SEED_MAX),
    ] = None,
    alphas: Annotated[
        str, typer.Option(help="Ridge alphas to search, comma-separated.")
    ] = ",".join(f"{a:g}" for a in PROTOCOL.alphas),
    folds: Annotated[int, typer.Option(help="Cross-validation folds.", min=2)] = PROTOCOL.folds,
    bootstrap: Annotated[
        int, typer.Option(help="Bootstrap resamples for the 95% intervals (0: none).", min=0)
    ] = PROTOCOL.bootstrap,
    promote: Annotated[
        bool,
        typer.Option(help="Make this run's map the one asmdb.latest_predictions shows."),
    ] = True,
    make_map: Annotated[
        bool,
        typer.Option(
            "--map/--no-map",
            help="Score every tile of the feature set as the run's map (--no-map: the run only).",
        ),
    ] = True,
    readers: Readers = READERS,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Join labels to tiles in SQL, fit and evaluate a calibrated model, map every tile."""
    from asm_db.runs.train import train_run

    filters = LabelFilters(
        min_proportion_inspected=min_proportion_inspected,
        exclude_mine_types=tuple(exclude_mine_type)
        if exclude_mine_type is not None
        else FILTERS.exclude_mine_types,
        min_confidence=min_confidence,
        observed_within=observed_within,
    )
    protocol = Protocol(
        cv=cv.value,
        model=model.value,
        block_size=block_size,
        test_size=test_size,
        random_state=_seed(seed, random_state),
        alphas=_floats(alphas),
        folds=folds,
        bootstrap=bootstrap,
        calibration=calibration.value if calibration is not None else None,
    )
    stages = {
        "fit": "fit: cross-validation folds, then the final model",
        "predict": "predict tiles",
    }
    with progress_bar("{task.description}") as progress:
        task = progress.add_task(stages["fit"], total=None)
        result = train_run(
            create_engine(database_url),
            feature_set=feature_set,
            filters=filters,
            protocol=protocol,
            promote=promote,
            make_map=make_map,
            readers=readers,
            plots_dir=plots,
            progress=lambda stage, done, total: progress.update(
                task, description=stages.get(stage, stage), completed=done, total=total
            ),
            notify=notify,
        )
    fit, protocol = result.fit, result.protocol
    if as_json:
        print(
            json.dumps(
                {
                    "run_id": result.run_id,
                    "map_id": result.map_id,
                    "feature_set": result.feature_set,
                    "protocol": fit.protocol,
                    "model": protocol.model,
                    "block_size": protocol.block_size if fit.protocol == "spatial" else None,
                    "best_params": fit.best_params,
                    "best_alpha": fit.best_alpha,
                    "auc_uncalibrated": fit.auc_uncalibrated,
                    "auc_calibrated": fit.auc_calibrated,
                    "calibration": fit.calibration.method,
                    "metrics": result.metrics,
                    "counts": result.counts,
                    "promoted": promote and result.map_id is not None,
                    "plots": [str(p) for p in result.plots],
                    "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
                }
            )
        )
        return
    print(f"run {result.run_id} (feature set '{result.feature_set}', model {protocol.model})")
    if fit.protocol == "seed":
        print(
            "protocol: seed (the original notebook's protocol: random 80/20 split; calibration "
            "fitted on the test rows it is scored on: optimistic)"
        )
    else:
        chosen = ", chosen by --block-size auto" if block_size == "auto" else ""
        print(
            f"protocol: spatial ({protocol.folds}-fold blocked CV, "
            f"{result.counts['spatial_blocks']} blocks of {protocol.block_size:g} degrees{chosen}; "
            "out-of-fold scores, calibration fitted on training blocks only)"
        )
    c = result.counts
    print(
        f"labels: {c['labels']} -> {c['after_proportion_inspected']} (inspected) -> "
        f"{c['after_mine_type']} (mine type) -> {c['after_confidence']} (confidence)"
        f"{observed_step(c, filters.observed_within)}; "
        f"{c['labels_joined']} joined to {c['training_rows']} rows, {c['positives']} positive"
    )
    if fit.best_alpha is not None:
        print(f"Best alpha: {fit.best_alpha}")
    else:
        print(f"Best parameters: {fit.best_params}")
    print(calibration_line(result.metrics))
    print(f"ROC AUC before calibration: {fit.auc_uncalibrated:.3f}")
    print(f"ROC AUC after calibration: {fit.auc_calibrated:.3f}")
    print_metrics(result.metrics, fit.protocol)
    if result.map_id is None:
        print("no map made (--no-map); `asmdb predict` makes one")
    else:
        shown = "view asmdb.latest_predictions" if promote else "not promoted"
        print(
            f"tiles predicted: {c['tiles_predicted']} -> asmdb.predictions, map "
            f"{result.map_id}, {shown}"
        )
    for path in result.plots:
        print(f"plot: {path}")


def calibration_line(metrics: dict) -> str:
    """Which calibration a run uses and why ("isotonic" for runs from before the choice)."""
    chosen = metrics.get("calibration")
    if not chosen:
        return "calibration: isotonic (the only one when this run was made)"
    return f"calibration: {chosen['method']} ({chosen['reason']})"


def observed_step(counts: dict, days: int | None) -> str:
    """The `--observed-within` step of the filter counts ('' without it)."""
    if days is None or "after_observed_within" not in counts:
        return ""
    return (
        f" -> {counts['after_observed_within']} (observed within {days} days of the period; "
        f"{counts['undated_dropped']} undated dropped)"
    )


def print_metrics(metrics: dict, protocol: str) -> None:
    """The metrics table, a line on what each metric measures, and where the intervals come
    from."""
    import textwrap

    from asm_db.modeling.metrics import interval_note, metric_meanings, metric_rows

    print_table([("metric", "before calibration", "after calibration"), *metric_rows(metrics)])
    for name, meaning in metric_meanings():
        print(textwrap.fill(f"{name}: {meaning}", width=79, subsequent_indent="    "))
    print(interval_note(metrics, protocol))
