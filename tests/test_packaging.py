"""What ships: the compose file users start PostGIS with, and SQL/migrations inside the wheel."""

import collections
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from asm_db.db.sqlfiles import load_sql, replaceable_files

ROOT = Path(__file__).resolve().parents[1]
SQL = ROOT / "asm_db" / "sql"


def test_compose_file_runs_postgis_with_a_volume_and_healthcheck():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["postgis"]
    assert service["image"].startswith("postgis/postgis:")
    assert "5432:5432" in service["ports"]
    volume = service["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]  # a named volume, data survives `docker compose down`
    assert "pg_isready" in " ".join(service["healthcheck"]["test"])


def _statement_files() -> list[Path]:
    return sorted(p for p in SQL.glob("*/*.sql") if p.parent.name != "schema")


def test_every_sql_file_loads_by_its_folder_and_name_and_schema_files_apply_in_number_order():
    for path in _statement_files():
        assert load_sql(f"{path.parent.name}/{path.stem}") == path.read_text()
    names = [name for name, _ in replaceable_files()]
    assert names == sorted(p.name for p in (SQL / "schema").glob("*.sql"))
    assert all(re.fullmatch(r"\d{3}_[a-z_]+\.sql", name) for name in names)
    assert not list(SQL.glob("*.sql")), "every SQL file belongs in a folder of sql/"


def test_every_statement_the_code_names_exists_no_file_is_unused_and_no_two_share_a_name():
    code = "\n".join(p.read_text() for p in (ROOT / "asm_db").rglob("*.py"))
    named = set(re.findall(r'"([a-z]+/[a-z_]+)"', code)) & {
        f"{p.parent.name}/{p.stem}" for p in SQL.glob("*/*.sql")
    } | set(re.findall(r'load_sql\(\s*"([^"]+)"', code))
    named |= set(re.findall(r'_rows\(\s*\w+,\s*"([^"]+)"', code))
    files = {f"{p.parent.name}/{p.stem}" for p in _statement_files()}
    assert sorted(named - files) == [], "named in the code but missing from asm_db/sql/"
    assert sorted(files - named) == [], "in asm_db/sql/ but never run"
    stems = collections.Counter(p.stem for p in SQL.glob("*/*.sql"))
    assert [stem for stem, n in stems.items() if n > 1] == []


@pytest.mark.slow
def test_the_installed_wheel_finds_every_sql_file(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path, ROOT],
        check=True,
    )
    (wheel,) = tmp_path.glob("asmdb-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    shipped = sorted(
        p.relative_to(site / "asm_db" / "sql") for p in site.glob("asm_db/sql/*/*.sql")
    )
    assert shipped == sorted(p.relative_to(SQL) for p in SQL.glob("*/*.sql"))
    # The installed package, alone on the path, loads them through importlib.resources.
    check = (
        "import sys; from asm_db.db import sqlfiles; "
        "assert sqlfiles.__file__.startswith(sys.argv[1]); "
        "print(len(sqlfiles.replaceable_files()), len(sqlfiles.load_sql('review/queue_insert')))"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, sys.argv[1]); {check}", site],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert int(out[0]) == len(list((SQL / "schema").glob("*.sql"))) and int(out[1]) > 0
