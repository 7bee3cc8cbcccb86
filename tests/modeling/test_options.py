"""The seed's defaults live in the library's dataclasses; the CLI and SQL agree with them."""

from __future__ import annotations

import typer.main

from asm_db.cli.app import app
from asm_db.modeling.options import LabelFilters, Protocol
from asm_db.review.options import MAP_THRESHOLD, QueueOptions


def _defaults(*path: str) -> dict:
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return {p.name: p.default for p in command.params}


def test_train_option_defaults_are_the_library_defaults():
    cli, filters, protocol = _defaults("train"), LabelFilters(), Protocol()
    assert cli["min_proportion_inspected"] == filters.min_proportion_inspected
    assert cli["min_confidence"] == filters.min_confidence
    assert cli["observed_within"] == filters.observed_within
    assert cli["exclude_mine_type"] is None  # None means the library's list
    for name in ("block_size", "test_size", "folds", "bootstrap"):
        assert cli[name] == getattr(protocol, name), name
    assert cli["seed"] == protocol.random_state
    assert cli["cv"].value == protocol.cv and cli["model"].value == protocol.model
    assert tuple(float(a) for a in cli["alphas"].split(",")) == protocol.alphas


def test_review_option_defaults_are_the_library_defaults():
    cli, queue = _defaults("review", "queue"), QueueOptions()
    for name in ("hotspots", "uncertain", "per_stratum", "threshold", "spacing", "seed"):
        assert cli[name] == getattr(queue, name), name
    assert cli["min_label_distance"] == queue.min_label_distance
    assert _defaults("review", "estimate")["threshold"] == MAP_THRESHOLD == queue.threshold


def test_sql_filter_function_defaults_are_the_library_defaults(pg):
    defaults = pg.execute(
        "SELECT pg_get_expr(proargdefaults, 0) FROM pg_proc "
        "WHERE oid = 'asmdb.filtered_labels'::regproc"
    ).fetchone()[0]
    inspected, mine_types, confidence, observed_from, observed_to = pg.execute(
        f"SELECT {defaults}"
    ).fetchone()
    filters = LabelFilters()
    assert float(inspected) == filters.min_proportion_inspected
    assert tuple(mine_types) == filters.exclude_mine_types
    assert float(confidence) == filters.min_confidence
    # No window of observation dates unless asked for.
    assert filters.observed_within is None and (observed_from, observed_to) == (None, None)
