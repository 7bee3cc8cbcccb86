"""Batch readers for feature files: memory follows the batch, not the file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather  # noqa: F401 - pa.feather
import pyarrow.parquet as pq

from asm_db.errors import InputError
from asm_db.ingest.columns import csv_delimiter

CSV_BLOCK_BYTES = 32 << 20


@dataclass
class BatchSource:
    """A file's schema, its row count when the format knows it, and a stream of batches."""

    schema: pa.Schema
    total_rows: int | None
    batches: Iterator[pa.RecordBatch]


def _rechunk(batches: Iterator[pa.RecordBatch], batch_rows: int) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        for start in range(0, batch.num_rows, batch_rows):
            yield batch.slice(start, batch_rows)


def _reason(exc: Exception) -> str:
    """The first line of a reader's error, printable (it may quote the file's raw bytes)."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return "".join(c if c.isprintable() else "?" for c in text)[:200]


def _checked(path: Path, source: BatchSource) -> BatchSource:
    """The source, with a header that is not UTF-8 and a block that does not parse (a row
    with too many cells, bytes that are not text) turned into an InputError."""
    try:
        source.schema.names  # noqa: B018 - decoding the names is the check
    except UnicodeDecodeError:
        raise InputError(path, "the header is not UTF-8 text") from None

    def batches() -> Iterator[pa.RecordBatch]:
        done = 0
        try:
            for batch in source.batches:
                yield batch
                done += batch.num_rows
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise InputError(path, f"cannot read past row {done}: {_reason(exc)}") from None

    return BatchSource(source.schema, source.total_rows, batches())


def open_batches(path: Path, batch_rows: int, columns: list[str] | None = None) -> BatchSource:
    """Open a feather/Arrow IPC, parquet or CSV file for reading in batches of `batch_rows`;
    with `columns`, only those columns are read (and decompressed)."""
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    if not path.exists():
        raise InputError(path, "no such file")
    try:
        if suffix in (".feather", ".arrow", ".ipc"):
            # A plain file, not a memory map: only the record batch being read is resident.
            reader = pa.ipc.open_file(pa.OSFile(str(path), "r"))
            if columns is not None:
                table = pa.feather.read_table(str(path), columns=columns, memory_map=True)
                batches = iter(table.to_batches())
            else:
                batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
            return _checked(
                path,
                BatchSource(reader.schema, reader.count_rows(), _rechunk(batches, batch_rows)),
            )
        if suffix in (".parquet", ".geoparquet"):
            parquet = pq.ParquetFile(path)
            return _checked(
                path,
                BatchSource(
                    parquet.schema_arrow,
                    parquet.metadata.num_rows,
                    parquet.iter_batches(batch_size=batch_rows, columns=columns),
                ),
            )
        if suffix in (".csv", ".csv.gz"):
            stream = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
                parse_options=pacsv.ParseOptions(delimiter=csv_delimiter(path)),
                convert_options=pacsv.ConvertOptions(include_columns=columns),
            )
            return _checked(
                path, BatchSource(stream.schema, None, _rechunk(iter(stream), batch_rows))
            )
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read as {suffix.lstrip('.')}: {_reason(exc)}") from None
    raise InputError(path, f"unsupported file type '{suffix}' (use .feather, .parquet or .csv)")
