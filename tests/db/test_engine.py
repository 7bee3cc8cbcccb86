"""Connecting (asm_db.db.engine): a time limit that stops the connection's first queries."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from asm_db.cli.errors import one_line
from asm_db.db.engine import connect, create_engine
from asm_db.errors import AsmdbError


def test_a_statement_stopped_while_connecting_is_said_as_such_not_as_an_unreachable_server(db_url):
    engine = create_engine(db_url)

    @sa.event.listens_for(engine, "connect")
    def slow_first_query(dbapi_connection, record):  # what a busy server does to a 1 ms limit
        dbapi_connection.execute("SET statement_timeout = 1")
        dbapi_connection.execute("SELECT pg_sleep(0.05)")

    with pytest.raises(AsmdbError) as caught:
        with connect(engine):
            pass
    engine.dispose()
    line, code = one_line(caught.value)
    assert code == 1
    assert line.startswith("error: the database stopped a statement: canceling statement"), line
