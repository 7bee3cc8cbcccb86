"""`asmdb report ID OUT.html`: one self-contained page per run (figures embedded)."""

from __future__ import annotations

import base64
import io
from functools import cache
from pathlib import Path

import jinja2
from sqlalchemy.engine import Engine

from asm_db.change.classes import CLASSES
from asm_db.modeling.metrics import MEANINGS, interval_note, metric_rows
from asm_db.modeling.options import LEGACY_BLOCK_SIZE
from asm_db.probability_classes import MAP_THRESHOLD, mapped_label
from asm_db.publish.files import replacing
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


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return base64.b64encode(buffer.getvalue()).decode()


def _cell(entry: dict | None, scale: str = ".1f") -> str:
    """A value and its interval, e.g. `41.0 (30.2-53.1)`; `-` where there is none."""
    if entry is None or entry.get("value") is None:
        return "-"
    return f"{entry['value']:{scale}} ({entry['low']:{scale}}-{entry['high']:{scale}})"


def _percent(entry: dict | None) -> dict | None:
    if entry is None:
        return None
    return {k: v * 100 if v is not None else None for k, v in entry.items()}


def _change_estimate(estimate: dict | None) -> dict | None:
    if not estimate:
        return None
    return {
        "reviewed": estimate["reviewed"],
        "sample_of": estimate.get("sample_of"),
        "rows": [
            (
                name,
                round(e["mapped_area_km2"], 2),
                _cell(e["area_km2"]),
                _cell(e.get("area_km2_model_assisted")),
                f"{e['se_ratio']:.2f}" if e.get("se_ratio") is not None else "-",
                _cell(_percent(e["users_accuracy"])),
                _cell(_percent(e["producers_accuracy"])),
            )
            for name, e in estimate["classes"].items()
        ],
        "zones": [
            (z["zone"], z["reviewed"], _cell(z["estimated"]["new"]), _cell(z["estimated"]["gone"]))
            for z in estimate.get("zones", [])
            if z.get("estimated")
        ],
    }


def _periods(engine: Engine, run_id: int) -> dict | None:
    """With maps of several periods: each period's map side by side, the newest change between
    them and its area table (and per-zone tables)."""
    periods = load_run_periods(engine, run_id)
    if len(periods.maps) < 2:
        return None
    c = periods.change
    change = None
    if c is not None:
        change = {
            "change_id": c.change_id,
            "from_map": c.from_map,
            "to_map": c.to_map,
            "threshold": f"{c.threshold:g}",
            "min_delta": f"{c.min_delta:g}",
            "classes": [
                (name, c.classes[name]["tiles"], round(c.classes[name]["km2"], 2))
                for name in CLASSES
            ],
            "estimate": _change_estimate(periods.change_estimate),
            "zones": [
                (
                    z["zone"],
                    z["classes"]["new"]["tiles"],
                    round(z["classes"]["new"]["km2"], 2),
                    z["classes"]["gone"]["tiles"],
                    round(z["classes"]["gone"]["km2"], 2),
                    round(z["classes"]["persistent"]["km2"], 2),
                )
                for z in c.zones or []
            ],
        }
    return {
        "maps": [
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
        "figures": [(stem, _png(fig)) for stem, fig in period_figures(periods).items()],
        "change": change,
    }


def _area(area: dict | None) -> dict | None:
    if not area:
        return None
    return {
        "reviewed": area["reviewed"],
        "threshold": f"{area['threshold']:g}",
        "rows": [
            ("ASM area, km2", _cell(area["asm_area_km2"], ".1f")),
            *(
                [
                    (
                        "ASM area, model-assisted, km2 (approximately unbiased)",
                        _cell(area["asm_area_km2_model_assisted"], ".1f")
                        + (f"; SE ratio {area['se_ratio']:.2f}" if area.get("se_ratio") else ""),
                    )
                ]
                if "asm_area_km2_model_assisted" in area
                else []
            ),
            ("area the map shows, km2", f"{area['mapped_area_km2']:.1f}"),
            ("user's accuracy", _cell(area["users_accuracy"], ".3f")),
            ("producer's accuracy", _cell(area["producers_accuracy"], ".3f")),
            ("overall accuracy", _cell(area["overall_accuracy"], ".3f")),
        ],
    }


@cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("asm_db.publish", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return environment.get_template("report.html")


def render_report(engine: Engine, run_id: int) -> str:
    """The run's report page (templates/report.html), figures embedded."""
    data = load_run_data(engine, run_id)
    run = data.run
    m = run.metrics
    top = m.get("top_features", [])
    return _template().render(
        style=STYLE,
        run_id=run_id,
        run=run,
        created=f"{run.created_at:%Y-%m-%d %H:%M %Z}",
        model_parameters=str(run.parameters.get("model", "")),
        block_size=f"{run.parameters['protocol'].get('block_size', LEGACY_BLOCK_SIZE):g}"
        if run.protocol != "seed"
        else None,
        folds=run.parameters["protocol"].get("folds"),
        calibration=m.get("calibration"),
        metrics=[(*row, MEANINGS[row[0]]) for row in metric_rows(m)],
        interval_note=interval_note(m, run.protocol),
        best_params=str(m.get("best_params", {"alpha": m.get("best_alpha")})),
        cv_roc_auc=f"{m.get('cv_roc_auc', float('nan')):.3f}",
        area=_area(run.area_estimate),
        periods=_periods(engine, run_id),
        mapped_label=mapped_label(),
        counts=count_rows(run.counts, run.protocol, run.parameters.get("filters", {})),
        run_figures=[(stem, _png(fig)) for stem, fig in run_figures(data).items()],
        top_features=[(i + 1, f["feature"], round(f["importance"], 6)) for i, f in enumerate(top)],
        importance_method=m.get("importance_method", ""),
        reproduce=reproduce_command(run),
        provenance=[
            (
                "data fingerprint (SHA-256 of label ids, tile ids, labels, features)",
                run.data_fingerprint or "-",
            ),
            ("code", run.code_version or "-"),
            ("libraries", ", ".join(f"{k} {v}" for k, v in run.library_versions.items())),
        ],
    )


def write_report(engine: Engine, run_id: int, out: str | Path) -> Path:
    """Write the run's report as one HTML file (figures inside it) and return its path."""
    out = Path(out)
    page = render_report(engine, run_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    with replacing(out) as partial:  # the old page stays whole until the new one is
        partial.write_text(page, encoding="utf-8")
    return out
