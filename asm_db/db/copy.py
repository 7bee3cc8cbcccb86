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
    """Structured arrays of up to `batch_rows` rows from a binary COPY TO stream.

    PostgreSQL sends a message per row; each is copied once, into one buffer that every batch
    reuses: a batch is a view of it, valid until the next batch is asked for (copy what must
    outlive it). Memory holds one batch whatever the size of the result, and no fresh memory
    is asked of the system per batch: on a virtual machine, faulting in fresh pages costs more
    than the copy itself (a second, measured, for a gigabyte of features).
    """
    width = dtype.itemsize
    capacity = max(1, batch_rows) * width
    buffer = bytearray(capacity)
    view = memoryview(buffer)
    fill = 0
    head = b""  # the header, until it is whole
    for chunk in chunks:
        if head is not None:
            head += bytes(chunk)
            if len(head) < 19:
                continue
            if head[:11] != HEADER[:11]:
                raise ValueError("not a PostgreSQL binary COPY stream")
            (ext_len,) = struct.unpack_from(">i", head, 15)
            if len(head) < 19 + ext_len:
                continue
            chunk, head = head[19 + ext_len :], None
        data = memoryview(chunk).cast("B")
        while len(data):
            take = min(len(data), capacity - fill)
            view[fill : fill + take] = data[:take]
            fill += take
            data = data[take:]
            if fill == capacity:
                yield np.frombuffer(buffer, dtype=dtype)
                fill = 0
    if head:  # the stream ended inside the header
        raise ValueError("not a PostgreSQL binary COPY stream (its header is cut short)")
    if head is None and fill >= 2 and fill % width == 2 and view[fill - 2 : fill] == TRAILER:
        fill -= 2
    if fill % width:
        raise ValueError("binary COPY rows are not of the expected fixed width (NULL or ragged?)")
    if fill:
        yield np.frombuffer(buffer, dtype=dtype, count=fill // width)


def column(rows: np.ndarray, name: str, out: np.ndarray | None = None) -> np.ndarray:
    """A decoded column in native byte order (float32 vectors as a 2-D matrix): a new array,
    or written into the first rows of `out`, whose view it returns."""
    data = rows[name]["v"]
    if out is None:
        return data.astype(data.dtype.newbyteorder("="))
    target = out[: len(data)]
    np.copyto(target, data)
    return target
