"""What ships: the compose file users start PostGIS with, and SQL/migrations inside the wheel."""

from pathlib import Path

import yaml

from asm_db.db.sqlfiles import REPLACEABLE_FILES, load_sql

ROOT = Path(__file__).resolve().parents[1]


def test_compose_file_runs_postgis_with_a_volume_and_healthcheck():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["postgis"]
    assert service["image"].startswith("postgis/postgis:")
    assert "5432:5432" in service["ports"]
    volume = service["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]  # a named volume, data survives `docker compose down`
    assert "pg_isready" in " ".join(service["healthcheck"]["test"])


def test_installed_package_carries_every_sql_file():
    names = sorted(p.stem for p in (ROOT / "asm_db" / "sql").glob("*.sql"))
    assert set(REPLACEABLE_FILES) <= set(names)
    for name in names:
        assert load_sql(name) == (ROOT / "asm_db" / "sql" / f"{name}.sql").read_text()
