"""The few errors a user can cause; the CLI prints each as one line and exits non-zero."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

MAX_ROWS_SHOWN = 5


class AsmdbError(Exception):
    """A failure caused by the user's input or set-up, not by a bug."""


class TrainingDataError(AsmdbError):
    """The joined training data cannot support the protocol (too few rows, one class)."""


class InputError(AsmdbError):
    """A file that cannot be ingested: names the file, the first offending rows and the column.

    Rows are 1-based data rows (the header of a CSV is not counted).
    """

    def __init__(
        self,
        path: str | Path,
        problem: str,
        *,
        rows: Iterable[int] | None = None,
        column: str | None = None,
    ) -> None:
        self.path = str(path)
        self.problem = problem
        self.rows = [int(r) for r in rows] if rows is not None else []
        self.column = column
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:MAX_ROWS_SHOWN])
            more = len(self.rows) - MAX_ROWS_SHOWN
            suffix = f" and {more} more" if more > 0 else ""
            noun = "row" if len(self.rows) == 1 else "rows"
            where.append(f"{noun} {shown}{suffix}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        located = f" ({', '.join(where)})" if where else ""
        return f"{self.path}{located}: {self.problem}"


class DatabaseNotReady(AsmdbError):
    """The database cannot be reached, lacks PostGIS, or is not migrated; says what to run."""


class NotFound(AsmdbError):
    """A run, feature set or other named thing the user asked for does not exist."""
