"""Column names as files really carry them: in another case (`LON`), cut to the ten
characters a Shapefile's DBF allows (`sample_typ`, `proportion`), and separated by semicolons
(spreadsheets set to a European locale); the columns a file has, for error messages; and text
PostgreSQL cannot store."""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from asm_db.errors import InputError

# A DBF field name (Shapefile attribute) holds at most this many characters.
DBF_NAME_LENGTH = 10
COLUMNS_SHOWN = 12


def columns_found(names: Iterable[object]) -> str:
    """'columns found: a, b, c' (the first few, and how many more)."""
    names = [str(n) for n in names]
    if not names:
        return "no columns found"
    shown = ", ".join(names[:COLUMNS_SHOWN])
    more = len(names) - COLUMNS_SHOWN
    return f"columns found: {shown}" + (f" and {more} more" if more > 0 else "")


def match_columns(frame: pd.DataFrame, wanted: Sequence[str]) -> pd.DataFrame:
    """`frame` with columns renamed to the `wanted` names they stand for: the same name in
    another case, or its first ten characters (a Shapefile's). A name the file already has
    exactly, or that two columns could stand for, is left alone."""
    present = {str(c) for c in frame.columns}
    renames = {}
    for name in wanted:
        if name in present:
            continue
        candidates = [
            column
            for column in frame.columns
            if str(column) not in wanted
            and (
                str(column).lower() == name
                or (len(name) > DBF_NAME_LENGTH and str(column).lower() == name[:DBF_NAME_LENGTH])
            )
        ]
        if len(candidates) == 1 and candidates[0] not in renames:
            renames[candidates[0]] = name
    return frame.rename(columns=renames) if renames else frame


def csv_delimiter(path: Path) -> str:
    """';' for a CSV whose header has semicolons and no commas, else ','."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:
            header = f.readline()
    except OSError:
        return ","  # the reader says what is wrong with the file
    return ";" if ";" in header and "," not in header else ","


def refuse_nul(path: Path, frame: pd.DataFrame, columns: Iterable[object] | None = None) -> None:
    """Refuse, naming the rows and the column, a text value holding a NUL character, which
    PostgreSQL text (and jsonb) cannot store: in `columns` of `frame` (default: every column)."""
    for column in frame.columns if columns is None else columns:
        if column not in frame.columns or pd.api.types.is_numeric_dtype(frame[column]):
            continue
        nul = frame[column].map(lambda v: isinstance(v, str) and "\x00" in v).to_numpy(bool)
        if nul.any():
            raise InputError(
                path,
                "contains a NUL character, which PostgreSQL cannot store",
                rows=np.flatnonzero(nul) + 1,
                column=str(column),
            )
