"""PostgreSQL binary COPY for fixed-width rows, encoded and decoded with numpy.

A row of MOSAIKS features is thousands of float32 values, stored as one `bytea` of their
little-endian bytes. psycopg's row-by-row COPY turns each value into a Python object; here a
whole batch is one numpy structured array whose memory *is* the COPY format, so a batch moves
with a single buffer copy either way, and the vectors travel as the bytes they are stored as.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)

# Column kinds: a PostgreSQL scalar (big-endian on the wire), or ("float32", k) for a bytea
# holding k little-endian float32 values (asmdb's stored feature vectors).
SCALARS = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "float8": ">f8"}


def _column_dtype(kind: str | tuple[str, int]) -> list[tuple]:
    if isinstance(kind, tuple):
        _, k = kind
        return [("len", ">i4"), ("v", "<f4", (k,))]
    return [("len", ">i4"), ("v", SCALARS[kind])]


def row_dtype(columns: Sequence[tuple[str, str | tuple[str, int]]]) -> np.dtype:
    """The numpy dtype of one binary COPY row with these (name, kind) columns, none NULL."""
    return np.dtype([("nfields", ">i2")] + [(name, _column_dtype(kind)) for name, kind in columns])


def _fill_lengths(rows: np.ndarray, columns) -> None:
    rows["nfields"] = len(columns)
    for name, kind in columns:
        col = rows[name]
        if isinstance(kind, tuple):
            col["len"] = 4 * kind[1]
        else:
            col["len"] = np.dtype(SCALARS[kind]).itemsize


def encode_rows(
    columns: Sequence[tuple[str, str | tuple[str, int]]],
    values: dict[str, np.ndarray],
    text_tail: Sequence[str | None] | None = None,
) -> bytes | memoryview:
    """Binary COPY data (no header) for fixed-width columns plus an optional last text column."""
    n = len(next(iter(values.values())))
    rows = np.empty(n, dtype=row_dtype(columns))
    _fill_lengths(rows, columns)
    for name, _ in columns:
        rows[name]["v"] = values[name]
    if text_tail is None:
        return memoryview(rows.view(np.uint8))
    rows["nfields"] += 1
    fixed = rows.view(np.uint8).reshape(n, rows.dtype.itemsize)
    null = struct.pack(">i", -1)
    parts: list[bytes] = []
    for i, text in enumerate(text_tail):
        parts.append(fixed[i].tobytes())
        if text is None:
            parts.append(null)
        else:
            raw = text.encode("utf-8")
            parts.append(struct.pack(">i", len(raw)) + raw)
    return b"".join(parts)


def decode_batches(
    chunks: Iterable[bytes | memoryview], dtype: np.dtype, batch_rows: int
) -> Iterator[np.ndarray]:
    """Structured arrays of about `batch_rows` rows from a binary COPY TO stream.

    PostgreSQL sends a message per row: messages are gathered in a list and joined once per
    batch (one copy), and the batch is a view of that join. Holds one batch in memory,
    whatever the size of the result.
    """
    width = dtype.itemsize
    want = batch_rows * width
    parts: list[bytes | memoryview] = []
    size = 0
    header = True
    for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if header:
            if size < 19:
                continue
            data = b"".join(parts)
            if data[:11] != HEADER[:11]:
                raise ValueError("not a PostgreSQL binary COPY stream")
            (ext_len,) = struct.unpack_from(">i", data, 15)
            parts, size, header = [data[19 + ext_len :]], len(data) - 19 - ext_len, False
        if size >= want:
            rows, rest = _split(b"".join(parts), dtype)
            parts, size = [rest], len(rest)
            yield rows
    data = b"".join(parts)
    if not header and data[-2:] == TRAILER and len(data) % width == 2:
        data = data[:-2]
    if len(data) % width:
        raise ValueError("binary COPY rows are not of the expected fixed width (NULL or ragged?)")
    if data:
        yield np.frombuffer(data, dtype=dtype)


def _split(data: bytes, dtype: np.dtype) -> tuple[np.ndarray, bytes]:
    """The whole rows at the start of data, and the bytes after them."""
    n = len(data) // dtype.itemsize
    return np.frombuffer(data, dtype=dtype, count=n), data[n * dtype.itemsize :]


def column(rows: np.ndarray, name: str) -> np.ndarray:
    """A decoded column in native byte order (float32 vectors as a 2-D matrix)."""
    data = rows[name]["v"]
    return data.astype(data.dtype.newbyteorder("="))
