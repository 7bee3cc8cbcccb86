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
