"""The numpy binary COPY codec against PostgreSQL itself."""

import numpy as np
import pytest

from asm_db.db import copy as pgcopy


def test_encoded_rows_load_as_the_same_values(pg):
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((50, 7)).astype(np.float32)
    ids = np.arange(50, dtype=np.int32) * 3
    columns = [("id", "int4"), ("x", "float8"), ("features", ("float32", 7))]
    x = rng.standard_normal(50)
    texts = [None if i % 5 == 0 else f"tile-{i}é" for i in range(50)]
    pg.execute("CREATE TEMP TABLE t (id int4, x float8, features bytea, name text)")
    with pg.cursor().copy("COPY t FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(pgcopy.HEADER)
        copy.write(pgcopy.encode_rows(columns, {"id": ids, "x": x, "features": matrix}, texts))
        copy.write(pgcopy.TRAILER)
    rows = pg.execute("SELECT id, x, features, name FROM t ORDER BY id").fetchall()
    assert [r[0] for r in rows] == ids.tolist()
    assert [r[1] for r in rows] == x.tolist()
    assert np.array_equal(np.array([np.frombuffer(r[2], "<f4") for r in rows]), matrix)
    assert [r[3] for r in rows] == texts


def test_fixed_width_rows_without_text_load_too(pg):
    matrix = np.arange(12, dtype=np.float32).reshape(4, 3) - 5.5
    columns = [("id", "int4"), ("features", ("float32", 3))]
    pg.execute("CREATE TEMP TABLE t (id int4, features bytea)")
    with pg.cursor().copy("COPY t FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(pgcopy.HEADER)
        copy.write(pgcopy.encode_rows(columns, {"id": np.arange(4), "features": matrix}))
        copy.write(pgcopy.TRAILER)
    stored = pg.execute("SELECT features FROM t ORDER BY id").fetchall()
    assert [bytes(r[0]) for r in stored] == [row.astype("<f4").tobytes() for row in matrix]


def test_decoded_batches_equal_what_postgres_holds(pg):
    pg.execute(
        "CREATE TEMP TABLE t AS SELECT g AS id, "
        "float4send(g::real) || float4send((g * 0.5)::real) || float4send((-g)::real) AS be "
        "FROM generate_series(1, 1001) AS g"
    )
    # float4send is big-endian; the stored layout is little-endian: reverse each value's bytes.
    pg.execute(
        "CREATE TEMP TABLE u AS SELECT id, (SELECT string_agg(substring(be FROM i FOR 1), ''::bytea "
        "ORDER BY (i - 1) / 4, -i) FROM generate_series(1, 12) AS i) AS features FROM t"
    )
    dtype = pgcopy.row_dtype([("id", "int4"), ("features", ("float32", 3))])
    with pg.cursor().copy(
        "COPY (SELECT id, features FROM u ORDER BY id) TO STDOUT (FORMAT BINARY)"
    ) as copy:
        stream = [bytes(chunk) for chunk in copy]
    batches = [b.copy() for b in pgcopy.decode_batches(stream, dtype, 100)]
    assert [len(b) for b in batches] == [100] * 10 + [1]
    rows = np.concatenate(batches)
    ids = pgcopy.column(rows, "id")
    assert ids.tolist() == list(range(1, 1002))
    assert np.array_equal(
        pgcopy.column(rows, "features"), np.column_stack([ids, ids * 0.5, -ids]).astype(np.float32)
    )
    # Every batch is a view of one reused buffer, however the stream is cut into messages.
    whole = b"".join(stream)
    for size in (1, 7, 19, 22, 4096):
        pieces = [whole[i : i + size] for i in range(0, len(whole), size)]
        batches = pgcopy.decode_batches(pieces, dtype, 64)
        first = next(batches)
        seen = [first.copy()]
        for batch in batches:
            assert np.shares_memory(batch, first)  # the same buffer, refilled
            seen.append(batch.copy())
        assert np.array_equal(np.concatenate(seen), rows)
    features = np.empty((64, 3), np.float32)
    first = next(iter(pgcopy.decode_batches(stream, dtype, 64)))
    assert np.shares_memory(pgcopy.column(first, "features", out=features), features)


def test_a_ragged_or_foreign_stream_is_refused():
    dtype = pgcopy.row_dtype([("id", "int4")])
    row = pgcopy.encode_rows([("id", "int4")], {"id": np.arange(3)})
    with pytest.raises(ValueError, match="fixed width"):
        list(pgcopy.decode_batches([pgcopy.HEADER, bytes(row)[:-1], pgcopy.TRAILER], dtype, 2))
    with pytest.raises(ValueError, match="not a PostgreSQL binary COPY"):
        list(pgcopy.decode_batches([b"x" * 40], dtype, 2))
    with pytest.raises(ValueError, match="header is cut short"):
        list(pgcopy.decode_batches([pgcopy.HEADER[:12]], dtype, 2))
    empty = list(pgcopy.decode_batches([pgcopy.HEADER, pgcopy.TRAILER], dtype, 2))
    assert empty == []
