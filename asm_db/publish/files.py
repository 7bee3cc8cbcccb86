"""Files for people without database access, written so that a failure never leaves half a
file: everything is written to a temporary file beside the target and renamed into place."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pyogrio

from asm_db.errors import AsmdbError
from asm_db.publish.styles import write_gpkg_style

# SQLite's side files, which GDAL may leave beside a GeoPackage it was writing.
SIDE_FILES = ("-journal", "-wal", "-shm")


@contextmanager
def replacing(out: str | Path) -> Iterator[Path]:
    """A temporary path beside `out` (same folder, so the rename is atomic) that becomes `out`
    when the block finishes; on any failure, interruptions included, it is removed and `out`
    is left as it was."""
    out = Path(out)
    if not out.parent.is_dir():
        raise AsmdbError(f"{out}: there is no folder {out.parent} to write it in")
    if out.is_dir():
        raise AsmdbError(f"{out} is a folder: cannot write a file there")
    partial = out.with_name(f".{out.stem}.{uuid.uuid4().hex[:8]}.partial{out.suffix}")
    try:
        yield partial
        os.replace(partial, out)
    finally:
        for path in (partial, *(Path(f"{partial}{side}") for side in SIDE_FILES)):
            path.unlink(missing_ok=True)


def write_styled_gpkg(
    frame: gpd.GeoDataFrame, out: str | Path, layer: str, qml_text: str, description: str
) -> Path:
    """Write `frame` as the one layer of the GeoPackage `out` with `qml_text` as its default
    QGIS style (embedded), replacing `out` whole or not at all."""
    out = Path(out)
    with replacing(out) as partial:
        # GeoPackage 1.2: what GDAL 3.6 (QGIS 3.22 on Debian 12) reads without warnings.
        pyogrio.write_dataframe(
            frame, partial, layer=layer, driver="GPKG", dataset_options={"VERSION": "1.2"}
        )
        write_gpkg_style(partial, layer, qml_text, description)
    return out


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
    """Files written under temporary names beside their targets, all given their names by
    `publish` (once the work they belong to has committed); `discard` removes whatever was
    not published, and the folders made for them if left empty."""

    def __init__(self) -> None:
        self._files: list[tuple[Path, Path]] = []
        self._made: list[Path] = []

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

    def publish(self) -> list[Path]:
        for partial, target in self._files:
            os.replace(partial, target)
        published = [target for _, target in self._files]
        self._files, self._made = [], []
        return published

    def discard(self) -> None:
        for partial, _ in self._files:
            partial.unlink(missing_ok=True)
        for folder in self._made:
            try:
                folder.rmdir()
            except OSError:
                break  # not empty, or gone: what is left was not ours alone
        self._files, self._made = [], []
