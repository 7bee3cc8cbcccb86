"""Files for people without database access, written so that a failure never leaves half a
file: everything is written to a temporary file beside the target and renamed into place. The
temporary name is made of plain characters; a folder whose name GDAL would misread is refused
before anything is written (`asm_db.gdal_paths`)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pyogrio

from asm_db.errors import AsmdbError, InputError
from asm_db.gdal_paths import gdal_path
from asm_db.publish.styles import write_gpkg_style

# SQLite's side files, which GDAL may leave beside a GeoPackage it was writing.
SIDE_FILES = ("-journal", "-wal", "-shm")


def check_target(out: str | Path, *, gdal: bool = False) -> None:
    """Refuse, before any work, a target `replacing` cannot write: no folder to write it in, a
    folder in its place, or (`gdal`: GDAL writes it) a folder whose name GDAL would misread."""
    out = Path(out)
    if not out.parent.is_dir():
        raise AsmdbError(f"{out}: there is no folder {out.parent} to write it in")
    if out.is_dir():
        raise AsmdbError(f"{out} is a folder: cannot write a file there")
    if gdal:
        try:
            gdal_path(_partial(out))
        except InputError:
            raise InputError(
                out,
                f"GDAL would misread the folder's name {str(out.parent)!r} (it reads '!' and "
                "line breaks in a path as parts of an archive path or a URI): write it elsewhere",
            ) from None


def _partial(out: Path) -> Path:
    """A hidden temporary name beside `out`, in plain characters whatever `out`'s name holds
    (GDAL reads ';' and '!' in a file name as parts of a URI)."""
    stem = re.sub(r"[^\w.-]", "_", out.stem, flags=re.ASCII)
    suffix = re.sub(r"[^\w.-]", "_", out.suffix, flags=re.ASCII)
    return out.with_name(f".{stem}.{uuid.uuid4().hex[:8]}.partial{suffix}")


@contextmanager
def replacing(out: str | Path) -> Iterator[Path]:
    """A temporary path beside `out` (same folder, so the rename is atomic) that becomes `out`
    when the block finishes; on any failure, interruptions included, it is removed and `out`
    is left as it was."""
    out = Path(out)
    check_target(out)
    partial = _partial(out)
    try:
        yield partial
        os.replace(partial, out)
    finally:
        for path in (partial, *(Path(f"{partial}{side}") for side in SIDE_FILES)):
            path.unlink(missing_ok=True)


def write_styled_gpkg(
    frame: gpd.GeoDataFrame,
    out: str | Path,
    layer: str,
    qml_text: str,
    description: str,
    then: Callable[[str], None] | None = None,
) -> Path:
    """Write `frame` as the vector layer of the GeoPackage `out` with `qml_text` as its default
    QGIS style (embedded), replacing `out` whole or not at all; `then` adds to the file (given
    its GDAL path) before it takes its name."""
    out = Path(out)
    check_target(out, gdal=True)
    with replacing(out) as partial:
        # GeoPackage 1.2: what GDAL 3.6 (QGIS 3.22 on Debian 12) reads without warnings.
        path = gdal_path(partial)
        pyogrio.write_dataframe(
            frame, path, layer=layer, driver="GPKG", dataset_options={"VERSION": "1.2"}
        )
        write_gpkg_style(path, layer, qml_text, description)
        if then is not None:
            then(path)
    return out
