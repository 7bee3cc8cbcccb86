"""The observation date of each label: ISO 8601 dates (a timestamp keeps its date), or none."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from asm_db.errors import InputError

DATE_COLUMN = "observed_at"
EXPECTED = "expected an ISO 8601 date YYYY-MM-DD, or a timestamp such as 2024-03-05T10:30:00Z"
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ].+)?")


def date_column_of(path: Path, columns, date_column: str | None) -> str | None:
    """The column holding the dates: `date_column` (which must exist), else `observed_at` when
    the file has one, else none."""
    if date_column is None:
        return DATE_COLUMN if DATE_COLUMN in columns else None
    if date_column not in columns:
        raise InputError(
            path,
            f"no column '{date_column}' (--date-column); columns found: "
            + ", ".join(str(c) for c in columns),
        )
    return date_column


def _one(value) -> date | None | bool:
    """A value as a date, None when missing, False when it is not an ISO 8601 date."""
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, datetime):  # pandas Timestamps too: the date as written, no time zone
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return False
    text = value.strip()
    if not text:
        return None
    if not _ISO.fullmatch(text):
        return False
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text).date()
    except ValueError:
        return False


def observation_dates(path: Path, frame: pd.DataFrame, column: str) -> pd.Series:
    """`frame[column]` as dates (None where empty); a value that is not an ISO 8601 date is
    an InputError naming its rows and the column."""
    values = frame[column].map(_one).astype(object)
    bad = values.map(lambda v: v is False)
    if bad.any():
        example = frame[column][bad].iloc[0]
        raise InputError(
            path,
            f"{str(example)!r} is not a date ({EXPECTED})",
            rows=np.flatnonzero(bad.to_numpy()) + 1,
            column=column,
        )
    return values
