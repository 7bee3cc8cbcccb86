"""File names as GDAL is given them. pyogrio reads a path as a URI first: ';' starts URL
parameters (dropped), '!' separates an archive from a member, a `zip:` or `s3:` prefix names
a virtual file system and line breaks are dropped, so `out/a;b.gpkg` would be written as
`out/a`. asmdb gives GDAL absolute paths, and refuses a name GDAL would read as another file
before anything is read or written."""

from __future__ import annotations

from pathlib import Path

from asm_db.errors import InputError


def gdal_path(path: str | Path) -> str:
    """`path` as GDAL takes it literally (absolute); InputError when GDAL would read the name
    as another file (a `.zip` is read as the archive it is)."""
    from pyogrio.util import vsi_path

    text = str(Path(path).absolute())
    if vsi_path(text) not in (text, f"/vsizip/{text}"):
        raise InputError(
            path,
            "GDAL would take this name for another file (it reads ';', '!' and line breaks "
            "in a path as parts of a URI or an archive path): rename the file or its folder",
        )
    return text
