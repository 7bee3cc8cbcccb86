"""Registered imagery as layers of the stored QGIS project: from its files, or from a server.

From the files (the default, for QGIS running where the files are), each imagery is a GDAL
raster layer: its file, or, for several files, a GDAL VRT mosaic of them whose XML is the
layer's source (GDAL opens a VRT given as text), so nothing is written beside the files or the
project and the mosaic is remade at each install; URLs are read through /vsicurl/. The mosaic
is what `gdalbuildvrt` makes of the files: a file's no-data pixels and masked pixels let the
file below show, bands take the widest data type of the files, and a mask band (QGIS draws it
as alpha) is clear where no file has a valid pixel. With a server's base URL, each imagery is an
XYZ layer of that `asmdb serve`'s PNG tiles. Either way it lasts its period in the Temporal
Controller, and files are drawn in the bands and over the ranges the web tiles and the review
export use (`asm_db.imagery.display`).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote, urlsplit

from asm_db.errors import AsmdbError
from asm_db.imagery.display import display_bands, display_range
from asm_db.imagery.read import gdal_href
from asm_db.imagery.registry import ImageryRecord
from asm_db.layers import IMAGERY
from asm_db.publish.qml import XML_INVALID

# Host (a name, IPv4 or [IPv6]) and optional port, then a path of URL-safe characters only:
# the URL goes into a QGIS data source and a project, so quotes, spaces, a query or a
# fragment are refused rather than escaped.
_BASE_URL = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?"
)
_PATH = re.compile(r"(?:/[A-Za-z0-9._~!$&()*+,;=:@-]*)*")
# QGIS 3.22 decodes an XYZ layer's URL once more when it reads a project (measured): a name
# holding one of these would reach the server as another path, query or fragment, or as a
# tile placeholder.
_NOT_IN_TILE_URL = set("/?#%{}")
XYZ_ZOOMS = (0, 18)  # QGIS draws deeper zooms from zoom 18's tiles
XYZ_CRS = "EPSG:3857"


@dataclass(frozen=True)
class ImageryLayer:
    """One imagery as a layer of the stored project."""

    layer_id: str
    title: str
    provider: str  # "gdal" (files) or "wms" (QGIS's XYZ tiles)
    datasource: str
    period: tuple[date, date] | None
    bands: int  # of the source (1 for XYZ tiles)
    crs: str  # its coordinate reference system, as WKT or "EPSG:n"
    rgb: tuple[int, int, int] | None = None  # bands drawn as red, green, blue (files)
    ranges: tuple[tuple[float, float], ...] | None = None  # min/max of each, as QGIS reads it
    alpha: int | None = None  # the band QGIS draws as alpha: the source's alpha or mask band


def check_tiles_url(url: str) -> str:
    """The base URL of an `asmdb serve` (http or https, a host, a plain path), without its
    trailing '/'; AsmdbError for anything else."""
    text = url.strip().rstrip("/")
    head = _BASE_URL.match(text)
    if head is None or not _PATH.fullmatch(text[head.end() :]) or not _port_ok(text):
        raise AsmdbError(
            f"--imagery-url {url!r}: expected the http(s) address of an asmdb serve, e.g. "
            "https://maps.example.org (a host, a port and a path; no quotes, spaces, '%', query "
            "or fragment)"
        )
    return text


def _port_ok(url: str) -> bool:
    try:
        port = urlsplit(url).port
    except ValueError:
        return False
    return port is None or 0 < port < 65536


def xyz_datasource(base_url: str, name: str) -> str:
    """QGIS's XYZ data source for the server's tiles of imagery `name`: every parameter value
    percent-encoded (QGIS decodes each once), so the name and URL cannot add parameters."""
    path = IMAGERY.tiles_of(name)
    url = check_tiles_url(base_url) + path
    zmin, zmax = XYZ_ZOOMS
    return f"type=xyz&url={quote(url, safe='')}&zmax={zmax}&zmin={zmin}"


def true_colour(
    record: ImageryRecord, dtypes: tuple[str, ...] = ()
) -> tuple[tuple[int, int, int], tuple[tuple[float, float], ...]]:
    """The bands (1-based) drawn as red, green and blue, and each one's range in values, by the
    rule the web tiles and the review export follow (`asm_db.imagery.display`); `dtypes`: the
    first file's band types, for a band without a recorded range.

    QGIS's GDAL provider applies a file's scale and offset (it reads stored * scale + offset,
    measured with QGIS 3.22), and the registry's are the files' own (the mosaic VRT carries
    them), so the ranges, in those values, are what the renderer stretches."""
    shown = display_bands(record.bands)
    ranges = tuple(
        display_range(record, band, dtypes[band] if band < len(dtypes) else None) for band in shown
    )
    return tuple(band + 1 for band in shown), ranges  # type: ignore[return-value]


@dataclass(frozen=True)
class RasterFile:
    """What a mosaic needs of one file, read from its header."""

    path: str  # as GDAL opens it
    crs: object  # rasterio's CRS
    transform: object  # its affine transform
    width: int
    height: int
    dtypes: tuple[str, ...]  # of each band
    nodata: float | None
    masked: bool  # an internal mask or an alpha band (GDAL's per-dataset mask) says what is valid
    alpha: int | None  # the band QGIS draws as alpha when it opens this file alone


def read_headers(files: Iterable[str]) -> list[RasterFile]:
    """The header of each file, read as the other imagery commands read remote files; AsmdbError
    for one that cannot be read."""
    import rasterio
    from rasterio.enums import ColorInterp, MaskFlags
    from rasterio.errors import RasterioIOError

    from asm_db.imagery.composite import GDAL_REMOTE

    headers = []
    for file in files:
        path = gdal_href(file)
        try:
            with rasterio.Env(**GDAL_REMOTE), rasterio.open(path) as src:
                flags = src.mask_flag_enums[0]
                masked = MaskFlags.per_dataset in flags
                alphas = [i for i, c in enumerate(src.colorinterp, 1) if c == ColorInterp.alpha]
                header = RasterFile(
                    path=path,
                    crs=src.crs,
                    transform=src.transform,
                    width=src.width,
                    height=src.height,
                    dtypes=tuple(src.dtypes),
                    nodata=src.nodata,
                    masked=masked,
                    # QGIS shows a per-dataset mask as one more band, an alpha band as itself.
                    alpha=alphas[0] if alphas else (src.count + 1 if masked else None),
                )
        except (RasterioIOError, OSError) as exc:
            raise AsmdbError(f"{file} cannot be read: {str(exc).splitlines()[0]}") from None
        if header.crs is None:
            raise AsmdbError(f"{file} has no coordinate reference system")
        headers.append(header)
    return headers


def _widest(dtypes: list[str]) -> str:
    """GDAL's name of the narrowest data type holding every value of `dtypes`."""
    import numpy as np
    from rasterio.dtypes import dtype_rev, typename_fwd

    widest = np.result_type(*dtypes).name
    if widest not in dtype_rev or widest.startswith("complex"):
        raise AsmdbError(f"bands of types {', '.join(sorted(set(dtypes)))}: no mosaic")
    return typename_fwd[dtype_rev[widest]]


def _source(
    parent: ET.Element,
    tag: str,
    file: RasterFile,
    band: str,
    origin: tuple[float, float],
    res: tuple[float, float],
) -> ET.Element:
    """One file's band (or "mask,1", its mask) placed on the mosaic's grid: `origin` is its
    west and north edge, `res` its pixel width and height."""
    (left, top), (res_x, res_y) = origin, res
    source = ET.SubElement(parent, tag)
    ET.SubElement(source, "SourceFilename", relativeToVRT="0").text = file.path
    ET.SubElement(source, "SourceBand").text = band
    ET.SubElement(
        source, "SrcRect", xOff="0", yOff="0", xSize=str(file.width), ySize=str(file.height)
    )
    ET.SubElement(
        source,
        "DstRect",
        xOff=repr((file.transform.c - left) / res_x),
        yOff=repr((top - file.transform.f) / res_y),
        xSize=repr(file.width * file.transform.a / res_x),
        ySize=repr(file.height * -file.transform.e / res_y),
    )
    return source


def mosaic_vrt(record: ImageryRecord, files: list[RasterFile]) -> str:
    """A GDAL VRT mosaic of the imagery's files (later files on top, as `asmdb featurize` reads
    them) at the finest resolution among them, carrying the registry's band names, scale and
    offset, with a mask band clear where no file has a valid pixel; AsmdbError when the files
    cannot make one (different CRSs, rotated)."""
    crs = files[0].crs
    for file in files:
        if file.crs != crs:
            raise AsmdbError(f"{file.path} is in {file.crs}, {files[0].path} in {crs}: no mosaic")
        if file.transform.b or file.transform.d:
            raise AsmdbError(f"{file.path} is rotated: no mosaic")
    res = (min(f.transform.a for f in files), min(-f.transform.e for f in files))
    origin = (min(f.transform.c for f in files), max(f.transform.f for f in files))
    right = max(f.transform.c + f.width * f.transform.a for f in files)
    bottom = min(f.transform.f + f.height * f.transform.e for f in files)
    root = ET.Element(
        "VRTDataset",
        rasterXSize=str(round((right - origin[0]) / res[0])),
        rasterYSize=str(round((origin[1] - bottom) / res[1])),
    )
    # Without dataAxisToSRSAxisMapping GDAL reads x as easting or longitude, as the files do.
    ET.SubElement(root, "SRS").text = crs.to_wkt()
    ET.SubElement(root, "GeoTransform").text = ", ".join(
        repr(float(v)) for v in (origin[0], res[0], 0.0, origin[1], 0.0, -res[1])
    )
    nodata = {f.nodata for f in files}
    for b, name in enumerate(record.bands, start=1):
        dtypes = [f.dtypes[min(b, len(f.dtypes)) - 1] for f in files]
        band = ET.SubElement(root, "VRTRasterBand", dataType=_widest(dtypes), band=str(b))
        ET.SubElement(band, "Description").text = name
        if len(nodata) == 1 and None not in nodata:  # as gdalbuildvrt: the files' one value
            ET.SubElement(band, "NoDataValue").text = repr(float(files[0].nodata))
        ET.SubElement(band, "Offset").text = repr(float(record.offset[b - 1]))
        ET.SubElement(band, "Scale").text = repr(float(record.scale[b - 1]))
        for f in files:
            # A complex source skips its no-data or masked pixels: the file below shows there.
            tag = "SimpleSource" if f.nodata is None and not f.masked else "ComplexSource"
            source = _source(band, tag, f, str(b), origin, res)
            if f.nodata is not None:
                ET.SubElement(source, "NODATA").text = repr(float(f.nodata))
            elif f.masked:
                ET.SubElement(source, "UseMaskBand").text = "true"
    # The mosaic's mask: valid where some file's own mask (all valid, no data, internal mask or
    # alpha) is, so gaps between the files and uncovered no-data are transparent.
    mask = ET.SubElement(ET.SubElement(root, "MaskBand"), "VRTRasterBand", dataType="Byte")
    for f in files:
        source = _source(mask, "ComplexSource", f, "mask,1", origin, res)
        ET.SubElement(source, "UseMaskBand").text = "true"
    return ET.tostring(root, encoding="unicode")


def _crs_name(crs) -> str:
    """ "EPSG:n" for a CRS that is exactly an EPSG one (QGIS reads it best), else its WKT."""
    code = crs.to_epsg(confidence_threshold=100)
    return f"EPSG:{code}" if code else crs.to_wkt()


def _title(record: ImageryRecord) -> str:
    if record.period_start and record.period_end:
        return f"{record.name} ({record.period_start}/{record.period_end})"
    return record.name


def _period(record: ImageryRecord) -> tuple[date, date] | None:
    if record.period_start and record.period_end:
        return (record.period_start, record.period_end)
    return None


def newest_first(records: list[ImageryRecord]) -> list[ImageryRecord]:
    """Imagery in legend order: latest period end (then start) first, then by name; no period
    last."""
    by_name = sorted(records, key=lambda r: r.name)
    dated = [r for r in by_name if _period(r)]
    dated.sort(key=lambda r: (r.period_end, r.period_start), reverse=True)  # stable: names stay
    return dated + [r for r in by_name if not _period(r)]


def imagery_layers(
    records: list[ImageryRecord], tiles_url: str | None = None
) -> tuple[list[ImageryLayer], list[str]]:
    """The project's imagery layers, newest first, and one line for each imagery left out
    (its files cannot make one layer): from the files, whose headers this reads (outside any
    transaction), or the server at `tiles_url`."""
    shown, left_out = [], []
    for i, record in enumerate(newest_first(records), start=1):
        layer_id = f"asmdb_imagery_{i}"
        # Band names go into the mosaic's XML, the rest into the project's.
        if XML_INVALID.search(record.name + "".join(record.files) + "".join(record.bands)):
            left_out.append(
                f"imagery {record.name!r}: its name, files or band names hold control characters"
            )
            continue
        if tiles_url is not None:
            if _NOT_IN_TILE_URL & set(record.name):
                left_out.append(
                    f"imagery {record.name!r}: QGIS would misread a tile URL naming it "
                    f"(it holds one of {''.join(sorted(_NOT_IN_TILE_URL))})"
                )
                continue
            datasource = xyz_datasource(tiles_url, record.name)
            shown.append(
                ImageryLayer(
                    layer_id, _title(record), "wms", datasource, _period(record), 1, XYZ_CRS
                )
            )
            continue
        if not record.files:
            left_out.append(f"imagery {record.name!r}: no files")
            continue
        try:
            files = read_headers(record.files)
            if len(files) == 1:
                datasource, alpha = files[0].path, files[0].alpha
            else:  # QGIS shows the mosaic's mask band as one more band, drawn as alpha
                datasource, alpha = mosaic_vrt(record, files), len(record.bands) + 1
        except AsmdbError as exc:
            left_out.append(f"imagery {record.name!r}: {exc}")
            continue
        bands, ranges = true_colour(record, files[0].dtypes)
        shown.append(
            ImageryLayer(
                layer_id,
                _title(record),
                "gdal",
                datasource,
                _period(record),
                len(record.bands),
                _crs_name(files[0].crs),
                bands,
                ranges,
                alpha,
            )
        )
    return shown, left_out
