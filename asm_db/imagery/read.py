"""Imagery for `asmdb featurize`: files, folders, VRTs or STAC items, read tile by tile.

Inputs become an ordered list of scenes; each scene has named bands (a band of a file, or a
STAC asset), an optional mask band, its footprint in EPSG:4326 and its date. A tile is read
from every scene whose footprint meets it, each band through a `WarpedVRT` in EPSG:4326 whose
pixels align with the tile's edges (n x n pixels, n = tile size / native resolution, nearest
neighbour), so a tile is the same square whatever the source CRS. Scenes are a mosaic: a later
scene's valid pixels replace an earlier one's, as in a GDAL VRT. Only the tile's window of
each file is read: memory follows the tiles in hand, never the scene.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asm_db.errors import AsmdbError, InputError
from asm_db.feature_values import finite_float32
from asm_db.imagery.hosts import check_location
from asm_db.imagery.limits import MAX_DERIVED_TILE_PIXELS, MAX_TILE_PIXELS

RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".jp2", ".img")
TARGET_CRS = "EPSG:4326"


def gdal_href(path: str) -> str:
    """A file or URL as GDAL opens it: http(s) URLs through /vsicurl/."""
    if path.startswith(("http://", "https://")):
        return "/vsicurl/" + path
    return path


@dataclass(frozen=True)
class BandSource:
    """One band of one file: where it is and how its numbers become values."""

    href: str
    index: int  # 1-based band of the file
    nodata: float | None
    scale: float
    offset: float


@dataclass(frozen=True)
class Scene:
    """One image of the mosaic: bands in feature order, an optional mask, footprint, date."""

    name: str
    bands: tuple[BandSource, ...]
    bounds: tuple[float, float, float, float]  # west, south, east, north in EPSG:4326
    resolution: float  # degrees per pixel of its finest band, warped to EPSG:4326
    mask: BandSource | None = None
    datetime: str | None = None
    size: int | None = None  # bytes, for local files

    def overlaps(self, bounds) -> bool:
        w, s, e, n = bounds
        return (
            self.bounds[0] < e and self.bounds[2] > w and self.bounds[1] < n and self.bounds[3] > s
        )


@dataclass(frozen=True)
class Imagery:
    """The scenes of a featurize run, with the band names and pixel scaling they share."""

    scenes: tuple[Scene, ...]
    band_names: tuple[str, ...]
    scale: tuple[float, ...]
    offset: tuple[float, ...]
    mask_values: tuple[float, ...] = ()
    sources: tuple[dict, ...] = field(default_factory=tuple)
    mask_band: str | None = None  # as given: a band number of the files or a STAC asset name

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        b = np.array([s.bounds for s in self.scenes])
        return (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())

    @property
    def resolution(self) -> float:
        return min(s.resolution for s in self.scenes)

    def dates(self) -> list[str]:
        return sorted(s.datetime for s in self.scenes if s.datetime)


def _open(href: str, where: str):
    import rasterio
    from rasterio.errors import RasterioIOError

    try:
        return rasterio.open(href)
    except (RasterioIOError, OSError) as exc:
        raise InputError(where, f"cannot be read as a raster: {str(exc).splitlines()[0]}") from None


def _footprint(src, where: str) -> tuple[tuple[float, float, float, float], float]:
    from rasterio.warp import calculate_default_transform, transform_bounds

    if src.crs is None:
        raise InputError(
            where, "has no coordinate reference system (CRS); set one with gdal_edit.py -a_srs"
        )
    bounds = transform_bounds(src.crs, TARGET_CRS, *src.bounds, densify_pts=21)
    transform, _, _ = calculate_default_transform(
        src.crs, TARGET_CRS, src.width, src.height, *src.bounds
    )
    resolution = abs(transform.a)
    if not (np.isfinite(bounds).all() and math.isfinite(resolution) and resolution > 0):
        raise InputError(where, f"has no usable footprint in {TARGET_CRS} (bounds {bounds})")
    return bounds, resolution


def _band(src, href: str, index: int, nodata=None, scale=None, offset=None) -> BandSource:
    nd = src.nodatavals[index - 1] if nodata is None else nodata
    sc = src.scales[index - 1] if scale is None else scale
    of = src.offsets[index - 1] if offset is None else offset
    return BandSource(
        href,
        index,
        None if nd is None else float(nd),
        1.0 if sc is None else float(sc),
        0.0 if of is None else float(of),
    )


def _file_scene(
    path: str, bands: list[int] | None, mask_band: str | None, hosts: frozenset[str] | None
) -> tuple[Scene, list[str]]:
    with _open(path, path) as src:
        _check_files(src, path, hosts)
        bounds, resolution = _footprint(src, path)
        mask_index = None
        if mask_band is not None:
            if not mask_band.isdigit() or not 1 <= int(mask_band) <= src.count:
                raise InputError(
                    path, f"has no band {mask_band} to use as --mask-band (bands 1..{src.count})"
                )
            mask_index = int(mask_band)
        indexes = bands or [i for i in range(1, src.count + 1) if i != mask_index]
        for i in indexes:
            if not 1 <= i <= src.count:
                raise InputError(path, f"has no band {i} (bands 1..{src.count})")
        names = [src.descriptions[i - 1] or f"b{i}" for i in indexes]
        scene = Scene(
            name=path,
            bands=tuple(_band(src, path, i) for i in indexes),
            bounds=bounds,
            resolution=resolution,
            mask=_band(src, path, mask_index) if mask_index else None,
            datetime=_tiff_datetime(src.tags().get("TIFFTAG_DATETIME")),
            size=os.path.getsize(path) if os.path.exists(path) else None,
        )
    return scene, names


def _tiff_datetime(value: str | None) -> str | None:
    """TIFF's 'YYYY:MM:DD HH:MM:SS' as ISO 8601, or None when it is not that."""
    import datetime as dt

    try:
        return dt.datetime.strptime(value or "", "%Y:%m:%d %H:%M:%S").isoformat()
    except ValueError:
        return None


def _check_files(src, where: str, hosts: frozenset[str] | None) -> None:
    """The files GDAL names for an open dataset (a VRT's sources too) are allowed by `hosts`."""
    for name in src.files if hosts is not None else ():
        check_location(name, where, hosts)


def _stac_io(hosts: frozenset[str] | None):
    """pystac's reader, refusing a link (a catalog's child or item) `hosts` does not allow."""
    from pystac.stac_io import DefaultStacIO

    class CheckedStacIO(DefaultStacIO):
        def read_text_from_href(self, href: str) -> str:
            check_location(href, href, hosts)
            return super().read_text_from_href(href)

    return CheckedStacIO()


def _stac_items(path: str, hosts: frozenset[str] | None):
    import pystac

    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise InputError(path, f"is not readable JSON: {exc}") from None
    kind = data.get("type") if isinstance(data, dict) else None
    io = _stac_io(hosts)
    try:
        if kind == "FeatureCollection":
            return list(pystac.ItemCollection.from_dict(data, preserve_dict=False)), path
        if kind == "Feature":
            return [pystac.Item.from_file(path, stac_io=io)], path
        if kind in ("Catalog", "Collection"):
            kind_class = pystac.Collection if kind == "Collection" else pystac.Catalog
            catalog = kind_class.from_file(path, stac_io=io)
            return list(catalog.get_items(recursive=True)), path
    except Exception as exc:  # pystac raises many kinds for malformed STAC
        refused, seen = exc, set()
        while (
            refused is not None and not isinstance(refused, InputError) and id(refused) not in seen
        ):
            seen.add(id(refused))
            refused = refused.__cause__ or refused.__context__  # pystac wraps a refused link
        if not isinstance(refused, InputError):
            refused = None
        if refused is not None:
            raise refused from None
        raise InputError(path, f"is not a readable STAC document: {exc}") from None
    raise InputError(path, "is JSON but not a STAC Item, ItemCollection, Catalog or Collection")


def _asset_where(where: str, item, name: str) -> str:
    return f"{where} (item '{item.id}', asset '{name}')"


def _asset_href(item, name: str, where: str) -> tuple[str, dict]:
    """The href GDAL opens for one asset of an item, and its first band's `raster:bands`
    nodata, scale and offset (each a float or None), checked."""
    asset = item.assets.get(name)
    if asset is None:
        raise InputError(
            where,
            f"STAC item '{item.id}' has no asset '{name}' (it has: {', '.join(sorted(item.assets))})",
        )
    href = asset.href
    if not isinstance(href, str) or not href:
        raise InputError(_asset_where(where, item, name), "has no href")
    if "://" not in href and not href.startswith("/"):  # relative to the STAC document
        href = str(Path(where).parent / href)
    return gdal_href(href), _raster_band(
        asset.extra_fields.get("raster:bands"), _asset_where(where, item, name)
    )


# What STAC's raster extension allows for a band's nodata besides a number.
NODATA_WORDS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _raster_band(bands, where: str) -> dict:
    """The first entry of an asset's `raster:bands` as {nodata, scale, offset}: numbers (a
    finite scale and offset; nodata may also be "nan", "inf" or "-inf"), or None when absent."""
    if bands is None or bands == []:
        return {"nodata": None, "scale": None, "offset": None}
    if not isinstance(bands, list) or not isinstance(bands[0], dict):
        raise InputError(where, f"raster:bands must be a list of objects, not {bands!r:.40}")
    out = {}
    for key in ("nodata", "scale", "offset"):
        value = bands[0].get(key)
        if key == "nodata" and isinstance(value, str) and value in NODATA_WORDS:
            value = NODATA_WORDS[value]
        elif value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (key != "nodata" and not math.isfinite(value))
        ):
            raise InputError(where, f"raster:bands {key} {value!r:.40} is not a finite number")
        out[key] = None if value is None else float(value)
    return out


def _stac_scene(
    item, where: str, assets: list[str], mask_band: str | None, hosts: frozenset[str] | None
) -> Scene:
    bands = []
    bounds = []
    resolutions = []
    mask = None
    for name in assets + ([mask_band] if mask_band else []):
        href, raster = _asset_href(item, name, where)
        with _open(href, _asset_where(where, item, name)) as src:
            _check_files(src, _asset_where(where, item, name), hosts)
            b, res = _footprint(src, _asset_where(where, item, name))
            band = _band(src, href, 1, raster["nodata"], raster["scale"], raster["offset"])
        if name == mask_band:
            mask = band
        else:
            bands.append(band)
            bounds.append(b)
            resolutions.append(res)
    b = np.array(bounds)
    dt = item.datetime or item.common_metadata.start_datetime
    return Scene(
        name=f"{where}#{item.id}",
        bands=tuple(bands),
        bounds=(b[:, 0].max(), b[:, 1].max(), b[:, 2].min(), b[:, 3].min()),
        resolution=min(resolutions),
        mask=mask,
        datetime=dt.isoformat() if dt else None,
    )


def expand_inputs(inputs: list[str]) -> list[str]:
    """Folders become their raster files (sorted by name); other inputs stay as given."""
    out = []
    for given in inputs:
        p = Path(given)
        if p.is_dir():
            files = sorted(str(f) for f in p.iterdir() if f.suffix.lower() in RASTER_SUFFIXES)
            if not files:
                raise InputError(
                    given, f"is a folder with no raster files ({', '.join(RASTER_SUFFIXES)})"
                )
            out.extend(files)
        elif "://" in given or given.startswith("/vsi") or p.exists():
            out.append(given)
        else:
            raise InputError(given, "does not exist")
    return out


def open_imagery(
    inputs: list[str],
    *,
    assets: list[str] | None = None,
    bands: list[int] | None = None,
    mask_band: str | None = None,
    mask_values: tuple[float, ...] = (),
    scale: list[float] | None = None,
    offset: list[float] | None = None,
    allowed_hosts: frozenset[str] | None = None,
) -> Imagery:
    """Open every input's metadata (no pixels) and check they make one mosaic of the same bands.

    With `allowed_hosts`, every location the inputs name (files, URLs, STAC assets and links)
    is checked against it before any raster is opened (`asm_db.imagery.hosts`)."""
    scenes: list[Scene] = []
    names: list[str] | None = None
    sources = []
    paths = expand_inputs(inputs)
    stac = {}
    for path in paths:  # every location checked before any raster is read
        if path.lower().endswith(".json"):
            if not assets:
                raise InputError(
                    path, "is STAC: name the assets to read with --assets, e.g. red,green,blue"
                )
            items, where = stac[path] = _stac_items(path, allowed_hosts)
            if not items:
                raise InputError(path, "holds no STAC items")
            for item in items:
                for name in assets + ([mask_band] if mask_band else []):
                    href, _ = _asset_href(item, name, where)
                    check_location(href, _asset_where(where, item, name), allowed_hosts)
        else:
            check_location(path, path, allowed_hosts)
    for path in paths:
        if path in stac:
            items, where = stac[path]
            for item in items:
                scenes.append(_stac_scene(item, where, assets, mask_band, allowed_hosts))
                sources.append(
                    {
                        "stac": path,
                        "item": item.id,
                        "datetime": scenes[-1].datetime,
                        "assets": [b.href for b in scenes[-1].bands],
                    }
                )
            scene_names = list(assets)
        else:
            scene, scene_names = _file_scene(path, bands, mask_band, allowed_hosts)
            scenes.append(scene)
            sources.append({"path": path, "size": scene.size, "datetime": scene.datetime})
        if names is None:
            names = scene_names
        elif len(scene_names) != len(names):
            raise InputError(
                path, f"has {len(scene_names)} bands but {scenes[0].name} has {len(names)}"
            )
    if not scenes:
        raise AsmdbError("no imagery given")
    n = len(names)
    first = scenes[0]
    scale = per_band("--scale", scale, [b.scale for b in first.bands], n, first.name)
    offset = per_band("--offset", offset, [b.offset for b in first.bands], n, first.name)
    return Imagery(
        tuple(scenes),
        tuple(names),
        scale,
        offset,
        tuple(mask_values),
        tuple(sources),
        mask_band,
    )


def per_band(option: str, given, default, n: int, source: str) -> tuple[float, ...]:
    """One finite value per band: `given` (one for all, or one each), else the metadata's."""
    if not given:
        for band, value in enumerate(default, 1):
            if not math.isfinite(value):
                raise InputError(
                    source, f"band {band} has {option[2:]} {value} in its metadata; give {option}"
                )
        return tuple(float(v) for v in default)
    for value in given:
        if not math.isfinite(value):
            raise AsmdbError(f"{option} {value}: must be a finite number")
    if len(given) == 1:
        return tuple(float(given[0]) for _ in range(n))
    if len(given) != n:
        raise AsmdbError(f"{option} has {len(given)} values but the imagery has {n} bands")
    return tuple(float(v) for v in given)


def tile_pixels_for(imagery: Imagery, cell_size: float) -> int:
    """Pixels along a tile's edge at about the imagery's native resolution (at least 3): the
    finest scene's. More than MAX_DERIVED_TILE_PIXELS is refused, naming that scene."""
    finest = min(imagery.scenes, key=lambda s: s.resolution)
    n = max(3, round(cell_size / finest.resolution))
    if n > MAX_DERIVED_TILE_PIXELS:
        raise InputError(
            finest.name,
            f"its resolution of {finest.resolution:.3g} degrees makes a {cell_size:g}-degree "
            f"tile {n:,} pixels a side, above {MAX_DERIVED_TILE_PIXELS:,}; give --tile-pixels "
            f"(at most {MAX_TILE_PIXELS:,}) or a larger --tile-size",
        )
    return n


class TileReader:
    """Reads tiles of one imagery mosaic; keeps its files open between tiles (one per process),
    at most `max_open` of them when given (the least recently read is closed first: an open
    file holds its cached blocks)."""

    def __init__(self, imagery: Imagery, max_open: int | None = None) -> None:
        self.imagery = imagery
        self.max_open = max_open
        self._open: dict[str, object] = {}

    def close(self) -> None:
        for src in self._open.values():
            src.close()
        self._open.clear()

    def __enter__(self) -> TileReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _src(self, href: str):
        src = self._open.pop(href, None)
        if src is None:
            src = _open(href, href)
            if self.max_open is not None and len(self._open) >= self.max_open:
                self._open.pop(next(iter(self._open))).close()
        self._open[href] = src  # last: the most recently read
        return src

    def _warped(self, band: BandSource, bounds, n: int) -> tuple[np.ndarray, np.ndarray]:
        """One band over the tile's n x n pixels in EPSG:4326: raw values and where it has data."""
        from rasterio.enums import Resampling
        from rasterio.transform import from_bounds
        from rasterio.vrt import WarpedVRT

        src = self._src(band.href)
        options = dict(
            crs=TARGET_CRS,
            transform=from_bounds(*bounds, n, n),
            width=n,
            height=n,
            resampling=Resampling.nearest,
        )
        if band.nodata is not None:
            options.update(src_nodata=band.nodata, nodata=band.nodata)
        else:  # no nodata value: an alpha band tells where the source has pixels
            options.update(add_alpha=True)
        with WarpedVRT(src, **options) as vrt:
            values = vrt.read(band.index, out_dtype="float64")
            has_data = vrt.read_masks(band.index) > 0
        if band.nodata is not None:
            has_data &= values != band.nodata
        return values, has_data & np.isfinite(values)

    def read(self, bounds, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The tile's scaled pixels (bands, n, n) float32 and their validity (n, n): a pixel is
        valid where every band has data, is not masked, and is finite once scaled."""
        imagery = self.imagery
        bands = len(imagery.band_names)
        pixels = np.zeros((bands, n, n), dtype=np.float64)
        valid = np.zeros((n, n), dtype=bool)
        for scene in imagery.scenes:
            if not scene.overlaps(bounds):
                continue
            layer = np.empty_like(pixels)
            ok = np.ones((n, n), dtype=bool)
            for b, band in enumerate(scene.bands):
                layer[b], has = self._warped(band, bounds, n)
                ok &= has
            if scene.mask is not None:
                mask, has = self._warped(scene.mask, bounds, n)
                ok &= has & ~np.isin(mask, imagery.mask_values)
            pixels[:, ok] = layer[:, ok]  # a later scene's valid pixels win
            valid |= ok
        scale = np.asarray(imagery.scale)[:, None, None]
        offset = np.asarray(imagery.offset)[:, None, None]
        with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN are invalid below
            scaled, finite = finite_float32(pixels * scale + offset)
        valid &= finite.all(axis=0)  # a value float32 cannot hold is no pixel value
        scaled[:, ~valid] = 0
        return scaled, valid
