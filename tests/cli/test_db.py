"""`asmdb db`: a downgrade to base asks first."""

import pytest

from conftest import snapshot


@pytest.mark.slow
def test_db_downgrade_base_asks_first(loaded, cli, pg):
    before = snapshot(pg)
    refused = cli("db", "downgrade", "base")
    assert refused.code == 1 and "remove everything asmdb made" in refused.stderr
    assert "add --yes" in refused.stderr and snapshot(pg) == before
    done = cli("db", "downgrade", "base", "--yes")
    assert done.code == 0, done.stderr
    assert pg.execute("SELECT to_regclass('asmdb.labels')").fetchone()[0] is None
