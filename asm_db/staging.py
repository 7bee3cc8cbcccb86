"""Output files that appear only when the work they belong to succeeds: written under
temporary names beside their targets, renamed when the block ends without error, removed
(with the folders made for them, if left empty) when it fails."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from asm_db.errors import AsmdbError


def check_output_dir(path: str | Path, option: str) -> None:
    """Refuse, before any work, a folder that cannot be made or written in: a file where the
    folder should be, or a folder (the nearest that exists) without write permission."""
    path = Path(path)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        what = "is a file" if existing == path else f"is inside {existing}, a file"
        raise AsmdbError(f"{path} {what}: {option} takes a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise AsmdbError(f"{path}: cannot write in {existing} ({option})")


class StagedFiles:
    """A context: files added inside it get their names when it ends without error (list in
    `published`); on an error they and the folders made for them are removed.

    Entered before a database transaction (`with staged, connect(engine):`), it ends after the
    commit, so the files appear only with the rows they describe."""

    def __init__(self) -> None:
        self._files: list[tuple[Path, Path]] = []
        self._made: list[Path] = []
        self.published: list[Path] = []

    def add(self, target: Path) -> Path:
        """The temporary path to write `target` to (its folder made if needed)."""
        if target.is_dir():
            raise AsmdbError(f"{target} is a folder: cannot write a file there")
        missing = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
        target.parent.mkdir(parents=True, exist_ok=True)
        self._made.extend(missing)  # deepest first
        partial = target.with_name(f".{target.stem}.{uuid.uuid4().hex[:8]}.partial{target.suffix}")
        self._files.append((partial, target))
        return partial

    def __enter__(self) -> StagedFiles:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                for partial, target in self._files:
                    os.replace(partial, target)
                    self.published.append(target)
        finally:
            for partial, _ in self._files:
                partial.unlink(missing_ok=True)
            if exc_type is not None:
                for folder in self._made:
                    try:
                        folder.rmdir()
                    except OSError:
                        break  # not empty, or gone: what is left is not ours alone
            self._files, self._made = [], []
