"""Where a feature set's vectors came from: the period they show and the checksum of a file."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

from asm_db.errors import AsmdbError


def parse_period(text: str | None) -> tuple[date | None, date | None]:
    """'2024-01-01/2024-12-31' as two dates (either may be empty)."""
    if not text:
        return None, None
    parts = text.split("/")
    if len(parts) != 2:
        raise AsmdbError(f"--period {text!r}: expected START/END, e.g. 2024-01-01/2024-12-31")
    try:
        start, end = (date.fromisoformat(p) if p else None for p in parts)
    except ValueError as exc:
        raise AsmdbError(f"--period {text!r}: {exc}") from None
    if start and end and start > end:
        raise AsmdbError(f"--period {text!r}: starts after it ends")
    return start, end


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
