"""`asmdb report ID OUT.html`: one self-contained page per run (figures embedded)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from sqlalchemy.engine import Engine

from asm_db.modeling.metrics import MEANINGS, interval_note, metric_rows
from asm_db.modeling.options import LEGACY_BLOCK_SIZE
from asm_db.probability_classes import MAP_THRESHOLD, mapped_label
from asm_db.publish.plots import load_run_periods, period_figures
from asm_db.runs.counts import count_rows
from asm_db.runs.plots import load_run_data, run_figures
from asm_db.runs.registry import reproduce_command

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
td, th { border-bottom: 1px solid #ddd; padding: 0.25rem 0.75rem; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; } .figures img { width: 48%; } code { background: #f4f4f4; }
.warn { background: #fff4d6; padding: 0.5rem 0.75rem; border-left: 4px solid #e0a800; }
"""


def _table(header: tuple[str, ...], rows: list[tuple]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{html.escape(str(c))}</td>'
            if isinstance(c, int | float)
            else f"<td>{html.escape(str(c))}</td>"
            for c in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return base64.b64encode(buffer.getvalue()).decode()


def _periods_section(engine: Engine, run_id: int) -> list[str]:
    """With maps of several periods: each period's map side by side, the newest change between
    them and its area table (and per-zone table)."""
    from asm_db.change.compute import CLASSES

    periods = load_run_periods(engine, run_id)
    if len(periods.maps) < 2:
        return []
    parts = [
        "<h2>Maps by period</h2>",
        _table(
            ("map", "feature set", "period", "tiles", mapped_label(), "promoted for its period"),
            [
                (
                    m.map_id,
                    m.feature_set,
                    m.period,
                    len(m.tile_id),
                    int((m.probability >= MAP_THRESHOLD).sum()),
                    "yes" if m.promoted else "no",
                )
                for m in periods.maps
            ],
        ),
        "<div class='figures'>",
    ]
    for stem, fig in period_figures(periods).items():
        parts.append(f"<img alt='{html.escape(stem)}' src='data:image/png;base64,{_png(fig)}'>")
    parts.append("</div>")
    c = periods.change
    if c is None:
        parts.append(
            "<p>No change map between these maps yet: <code>asmdb change --from MAP --to MAP"
            "</code> makes one.</p>"
        )
        return parts
    parts.append(
        f"<h2>Change {c.change_id}: map {c.from_map} to map {c.to_map}</h2>"
        f"<p>Threshold {c.threshold:g}, minimum difference {c.min_delta:g}. Areas are those the "
        "maps show, on the WGS 84 ellipsoid; <code>asmdb review estimate --change "
        f"{c.change_id}</code> gives sample-based estimates with intervals.</p>"
    )
    parts.append(
        _table(
            ("class", "tiles", "km2"),
            [
                (name, c.classes[name]["tiles"], round(c.classes[name]["km2"], 2))
                for name in CLASSES
            ],
        )
    )
    estimate = periods.change_estimate
    if estimate:

        def cell(entry: dict) -> str:
            if entry is None or entry.get("value") is None:
                return "-"
            return f"{entry['value']:.1f} ({entry['low']:.1f}-{entry['high']:.1f})"

        parts.append(f"<h3>From {estimate['reviewed']} reviewed sample tiles (95% intervals)</h3>")
        parts.append(
            _table(
                (
                    "class",
                    "mapped km2",
                    "estimated km2",
                    "model-assisted km2",
                    "SE ratio",
                    "user's accuracy",
                    "producer's accuracy",
                ),
                [
                    (
                        name,
                        round(e["mapped_area_km2"], 2),
                        cell(e["area_km2"]),
                        cell(e.get("area_km2_model_assisted")),
                        f"{e['se_ratio']:.2f}" if e.get("se_ratio") is not None else "-",
                        cell(
                            {
                                k: v * 100 if v is not None else None
                                for k, v in e["users_accuracy"].items()
                            }
                        ),
                        cell(
                            {
                                k: v * 100 if v is not None else None
                                for k, v in e["producers_accuracy"].items()
                            }
                        ),
                    )
                    for name, e in estimate["classes"].items()
                ],
            )
        )
        parts.append(
            "<p>Accuracies in percent. Model-assisted: the two maps' probabilities as auxiliary "
            "(approximately unbiased); SE ratio: its standard error over the stratified one."
            + (
                f" Estimated from the reviewed sample of change {estimate['sample_of']}."
                if estimate.get("sample_of") is not None
                else ""
            )
            + "</p>"
        )
        zoned = [z for z in estimate.get("zones", []) if z.get("estimated")]
        if zoned:
            parts.append("<h3>Estimated by zone (zones with enough reviews)</h3>")
            parts.append(
                _table(
                    ("zone", "reviewed", "new km2", "gone km2"),
                    [
                        (
                            z["zone"],
                            z["reviewed"],
                            cell(z["estimated"]["new"]),
                            cell(z["estimated"]["gone"]),
                        )
                        for z in zoned
                    ],
                )
            )
    if c.zones:
        parts.append("<h3>By zone</h3>")
        parts.append(
            _table(
                ("zone", "new tiles", "new km2", "gone tiles", "gone km2", "persistent km2"),
                [
                    (
                        z["zone"],
                        z["classes"]["new"]["tiles"],
                        round(z["classes"]["new"]["km2"], 2),
                        z["classes"]["gone"]["tiles"],
                        round(z["classes"]["gone"]["km2"], 2),
                        round(z["classes"]["persistent"]["km2"], 2),
                    )
                    for z in c.zones
                ],
            )
        )
    return parts


def _calibration_text(metrics: dict) -> str:
    """Which calibration turns the run's scores into probabilities, and why (HTML)."""
    chosen = metrics.get("calibration")
    if not chosen:
        return "Calibration: <b>isotonic</b> (the only one when this run was made)."
    return (
        f"Calibration: <b>{html.escape(chosen['method'])}</b>: {html.escape(chosen['reason'])} "
        f"(held out by {html.escape(chosen['brier_how'])}; a lower Brier score is better). "
        "Isotonic calibration is a step function: few distinct probabilities, some exactly 0 "
        "or 1. Sigmoid calibration (Platt scaling) is a smooth curve that never reaches 0 or 1."
    )


def render_report(engine: Engine, run_id: int) -> str:
    data = load_run_data(engine, run_id)
    run = data.run
    m = run.metrics
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>asmdb run {run_id}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>asmdb run {run_id}</h1>",
        f"<p>Created {run.created_at:%Y-%m-%d %H:%M %Z}; feature set <b>{html.escape(run.feature_set)}</b>; "
        f"model <b>{html.escape(run.model)}</b> ({html.escape(str(run.parameters.get('model', '')))}); "
        f"protocol <b>{html.escape(run.protocol)}</b>; "
        + (
            "<b>shown</b> by <code>asmdb.latest_predictions</code>."
            if run.shown
            else "not the promoted run."
        )
        + "</p>",
    ]
    if run.protocol == "seed":
        parts.append(
            "<p class='warn'>Seed protocol: a random 80/20 split of tiles (neighbours on both sides) "
            "and the calibration fitted on the very test rows it is scored on. These numbers are "
            "optimistic; compare with a <code>--cv spatial</code> run.</p>"
        )
    else:
        parts.append(
            f"<p>Spatially blocked cross-validation: blocks of "
            f"{run.parameters['protocol'].get('block_size', LEGACY_BLOCK_SIZE):g} degrees, "
            f"{run.parameters['protocol'].get('folds')} folds; the grid searched and the "
            "calibration fitted on the training blocks of each fold only.</p>"
        )
    parts.append(f"<p>{_calibration_text(m)}</p>")
    parts.append("<h2>Metrics</h2>")
    parts.append(
        _table(
            ("metric", "before calibration", "after calibration", "what it measures"),
            [(*row, MEANINGS[row[0]]) for row in metric_rows(m)],
        )
    )
    parts.append(
        f"<p>{html.escape(interval_note(m, run.protocol))}. Best parameters: "
        f"<code>{html.escape(str(m.get('best_params', {'alpha': m.get('best_alpha')})))}</code>; "
        f"ROC AUC of the grid search's own cross-validation {m.get('cv_roc_auc', float('nan')):.3f}"
        ".</p>"
    )
    area = run.area_estimate
    if area:

        def cell(entry: dict, scale: str = ".3f") -> str:
            if entry["value"] is None:
                return "not defined"
            return f"{entry['value']:{scale}} ({entry['low']:{scale}}-{entry['high']:{scale}})"

        parts.append("<h2>Area and accuracy from reviews</h2>")
        parts.append(
            f"<p>Stratified estimates (Olofsson et al. 2014) from {area['reviewed']} reviewed "
            f"sample tiles; the map calls ASM at probability {area['threshold']:g}; 95% intervals.</p>"
        )
        parts.append(
            _table(
                ("estimate", "value (95% interval)"),
                [
                    ("ASM area, km2", cell(area["asm_area_km2"], ".1f")),
                    *(
                        [
                            (
                                "ASM area, model-assisted, km2 (approximately unbiased)",
                                cell(area["asm_area_km2_model_assisted"], ".1f")
                                + (
                                    f"; SE ratio {area['se_ratio']:.2f}"
                                    if area.get("se_ratio") is not None
                                    else ""
                                ),
                            )
                        ]
                        if "asm_area_km2_model_assisted" in area
                        else []
                    ),
                    ("area the map shows, km2", f"{area['mapped_area_km2']:.1f}"),
                    ("user's accuracy", cell(area["users_accuracy"])),
                    ("producer's accuracy", cell(area["producers_accuracy"])),
                    ("overall accuracy", cell(area["overall_accuracy"])),
                ],
            )
        )
    parts.extend(_periods_section(engine, run_id))
    parts.append("<h2>Data</h2>")
    parts.append(
        _table(
            ("count", "number"),
            count_rows(run.counts, run.protocol, run.parameters.get("filters", {})),
        )
    )
    figures = run_figures(data)
    parts.append("<h2>Curves and maps</h2><div class='figures'>")
    for stem, fig in figures.items():
        parts.append(f"<img alt='{html.escape(stem)}' src='data:image/png;base64,{_png(fig)}'>")
    parts.append("</div>")
    top = m.get("top_features", [])
    if top:
        parts.append(f"<h2>Top features</h2><p>{html.escape(m.get('importance_method', ''))}</p>")
        parts.append(
            _table(
                ("rank", "feature", "importance"),
                [(i + 1, f["feature"], round(f["importance"], 6)) for i, f in enumerate(top)],
            )
        )
    parts.append("<h2>Reproduce</h2>")
    parts.append(f"<p><code>{html.escape(reproduce_command(run))}</code></p>")
    parts.append(
        _table(
            ("", ""),
            [
                (
                    "data fingerprint (SHA-256 of label ids, tile ids, labels, features)",
                    run.data_fingerprint or "-",
                ),
                ("code", run.code_version or "-"),
                ("libraries", ", ".join(f"{k} {v}" for k, v in run.library_versions.items())),
            ],
        )
    )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(engine: Engine, run_id: int, out: str | Path) -> Path:
    """Write the run's report as one HTML file (figures inside it) and return its path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(engine, run_id), encoding="utf-8")
    return out
