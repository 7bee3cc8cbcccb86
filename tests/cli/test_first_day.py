"""What a new analyst meets on the first day: defaults that work on a district-sized area."""

import re

import pytest

from conftest import snapshot


def test_an_excluded_mine_type_no_label_has_is_named(loaded, cli):
    done = cli(
        "train", "--cv", "seed", "--bootstrap", "0", "--no-map", "--exclude-mine-type", "comercial"
    )
    assert done.code == 0, done.stderr
    assert "no label has mine_type 'comercial'" in done.stderr
    assert "did you mean 'commercial'?" in done.stderr
    assert "mine types in the labels: artisanal (" in done.stderr
    quiet = cli("train", "--cv", "seed", "--bootstrap", "0", "--no-map")
    assert quiet.code == 0 and "mine_type" not in quiet.stderr


def test_the_filter_that_removed_the_last_labels_is_named(loaded, cli, pg):
    before = snapshot(pg)
    done = cli("train", "--min-confidence", "9")
    assert done.code == 1
    left = pg.execute(
        "SELECT count(*) FROM asmdb.labels WHERE (proportion_inspected >= 0.2 OR label = 1) "
        "AND mine_type IS DISTINCT FROM 'commercial'"
    ).fetchone()[0]
    assert f"--min-confidence 9 removed the last labels ({left} before it, 0 after)" in done.stderr
    assert snapshot(pg) == before


def test_train_refuses_plots_it_cannot_write_before_fitting(loaded, cli, pg, tmp_path):
    before = snapshot(pg)
    taken = tmp_path / "plots.png"
    taken.write_bytes(b"not a folder")
    for plots, says in ((taken, "is a file"), (taken / "sub", f"is inside {taken}, a file")):
        done = cli("train", "--plots", str(plots))
        assert done.code == 1 and len(done.stderr.splitlines()) == 1, done.stderr
        assert f"{plots} {says}: --plots takes a folder" in done.stderr
    assert taken.read_bytes() == b"not a folder"
    assert snapshot(pg) == before


@pytest.mark.slow
def test_plots_that_fail_leave_no_run(loaded, cli, pg, tmp_path):
    before = snapshot(pg)
    plots = tmp_path / "new" / "plots"
    done = cli("train", "--cv", "seed", "--bootstrap", "0", "--plots", str(plots))
    assert done.code == 0, done.stderr
    assert len(list(plots.glob("run-1-*.png"))) == 8
    made = snapshot(pg)
    assert made != before

    # A folder where run 2's ROC curve goes: found only when drawing, after the fit.
    (plots / "run-2-roc.png").mkdir()
    done = cli("train", "--cv", "seed", "--bootstrap", "0", "--plots", str(plots))
    assert done.code == 1 and "run-2-roc.png is a folder" in done.stderr
    assert snapshot(pg) == made  # no run 2, no map
    assert sorted(p.name for p in plots.iterdir() if "run-2" in p.name) == ["run-2-roc.png"]
    assert not list(plots.glob(".*partial*"))


@pytest.mark.parametrize(
    "url, says",
    [
        ("mysql://u@h/db", "asmdb needs PostgreSQL, not 'mysql'"),
        ("sqlite:///x.db", "asmdb needs PostgreSQL, not 'sqlite'"),
        ("http://h/db", "asmdb needs PostgreSQL, not 'http'"),
        ("postgresql://u@h:port/db", "Could not parse the URL"),
        ("no url at all", "malformed database URL"),
    ],
)
def test_a_malformed_database_url_is_one_line(cli, url, says):
    done = cli("runs", "list", "--database-url", url)
    assert done.code == 1 and len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("error: malformed database URL") and says in done.stderr


def test_export_into_a_missing_folder_is_one_line(trained, cli, tmp_path):
    for name in ("x.gpkg", "x.parquet"):
        out = tmp_path / "nodir" / name
        done = cli("export", "predictions", str(out))
        assert done.code == 1 and len(done.stderr.splitlines()) == 1, done.stderr
        assert f"{out}: there is no folder {out.parent} to write it in" in done.stderr
    assert not (tmp_path / "nodir").exists()


def _help(*path: str) -> str:
    from typer.testing import CliRunner

    from asm_db.cli.app import run

    with CliRunner().isolation(env={"COLUMNS": "80"}) as (stdout, _stderr, _):
        assert run([*path, "--help"]) == 0
        return stdout.getvalue().decode()


def _commands():
    from asm_db.cli.app import command

    def walk(cmd, path):
        yield path, cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, (*path, name))

    return list(walk(command(), ()))


@pytest.mark.slow
def test_help_is_readable_at_80_columns():
    for path, cmd in _commands():
        text = _help(*path)
        assert all(len(line) <= 80 for line in text.splitlines()), path
        for noise in ("<bool>", "<str>", "<int", "<float>", "<path>", "<list", "…", "╭"):
            assert noise not in text, (path, noise)
        assert not re.search(r"\{[A-Za-z_]+(\.\.\.)?\}", text), path  # {file}
        for param in cmd.params:
            if not param.hidden:
                for name in (*param.opts, *param.secondary_opts):
                    if name.startswith("--"):
                        assert name in text, (path, name)  # never cut
        assert "--random-state" not in text


@pytest.mark.slow
def test_version_and_one_name_for_seeds(cli, loaded, pg):
    from asm_db import __version__

    assert cli("--version").stdout == f"asmdb {__version__}\n"
    for path, cmd in _commands():
        names = {name for param in cmd.params if not param.hidden for name in param.opts}
        assert not names & {"--random-state", "--random-seed", "--rng"}, path
    assert "--seed" in _help("train") and "--seed" in _help("sample-data")

    done = cli("train", "--cv", "seed", "--seed", "5", "--bootstrap", "0", "--no-map")
    assert done.code == 0, done.stderr
    alias = cli("train", "--cv", "seed", "--random-state", "6", "--bootstrap", "0", "--no-map")
    assert alias.code == 0, alias.stderr
    seeds = pg.execute(
        "SELECT parameters->'protocol'->>'random_state' FROM asmdb.model_runs ORDER BY run_id"
    ).fetchall()
    assert seeds == [("5",), ("6",)]
    assert "--seed 6" in cli("runs", "show", "2").stdout


def test_the_seed_protocol_is_explained_where_it_appears():
    text = _help("train")
    assert "'seed' (the seed protocol: the original notebook's random 80/20 split" in " ".join(
        text.split()
    )
