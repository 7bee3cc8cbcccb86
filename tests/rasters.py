"""Synthetic imagery for the featurize tests: one smooth scene, written in any CRS or cut in parts.

The scene is a function of (lon, lat), so the same ground is written in EPSG:4326, in UTM or
as several files by evaluating it at each file's own pixel centres: the files differ only by
where their pixels fall, as real products of one place do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin
from rasterio.warp import transform as warp_points

WEST, SOUTH, EAST, NORTH = -11.20, 8.40, -11.16, 8.44  # 4 x 4 tiles of 0.01 degrees
RES_DEG = 0.0005  # 20 pixels along a tile edge
RES_M = 55.0
UTM = "EPSG:32629"


def scene(lon: np.ndarray, lat: np.ndarray, bands: int = 3) -> np.ndarray:
    """Reflectance x 10000 (uint16, as Sentinel-2 L2A) of a smooth made-up landscape."""
    out = []
    for b in range(bands):
        v = (
            2500
            + 1200
            * np.sin((lon + 11.2) * 2 * np.pi / (0.013 + 0.002 * b))
            * np.cos((lat - 8.4) * 2 * np.pi / 0.017)
            + 800 * np.cos((lon + lat) * 2 * np.pi / 0.031)
            + 300 * b
        )
        out.append(v)
    return np.clip(np.stack(out), 1, 10000).astype(np.uint16)


def write_4326(path: Path, bounds=(WEST, SOUTH, EAST, NORTH), res=RES_DEG, bands=3, **profile):
    w, s, e, n = bounds
    width, height = round((e - w) / res), round((n - s) / res)
    cols, rows = np.meshgrid(np.arange(width), np.arange(height))
    lon = w + (cols + 0.5) * res
    lat = n - (rows + 0.5) * res
    data = scene(lon, lat, bands)
    return _write(path, data, "EPSG:4326", from_origin(w, n, res, res), **profile)


def write_utm(path: Path, bounds=(WEST, SOUTH, EAST, NORTH), res=RES_M, bands=3, **profile):
    (x0, x1), (y0, y1) = warp_points(
        "EPSG:4326", UTM, [bounds[0], bounds[2]], [bounds[1], bounds[3]]
    )
    left, right = min(x0, x1) - 2 * res, max(x0, x1) + 2 * res
    bottom, top = min(y0, y1) - 2 * res, max(y0, y1) + 2 * res
    width, height = round((right - left) / res), round((top - bottom) / res)
    cols, rows = np.meshgrid(np.arange(width), np.arange(height))
    x = left + (cols + 0.5) * res
    y = top - (rows + 0.5) * res
    lon, lat = warp_points(UTM, "EPSG:4326", x.ravel(), y.ravel())
    data = scene(np.reshape(lon, x.shape), np.reshape(lat, x.shape), bands)
    return _write(path, data, UTM, from_origin(left, top, res, res), **profile)


def _write(path: Path, data: np.ndarray, crs, transform, nodata=None, dtype="uint16", tags=None):
    profile = dict(
        driver="GTiff",
        width=data.shape[2],
        height=data.shape[1],
        count=data.shape[0],
        dtype=dtype,
        crs=crs,
        transform=transform,
        tiled=True,
        blockxsize=64,
        blockysize=64,
    )
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data.astype(dtype))
        if tags:
            dst.update_tags(**tags)
    return path


def write_blocks(
    path: Path,
    values: np.ndarray,
    bounds=(WEST, SOUTH, EAST, NORTH),
    block: int = 64,
    nodata: float | None = None,
    descriptions: tuple[str, ...] | None = None,
    scales: tuple[float, ...] | None = None,
    offsets: tuple[float, ...] | None = None,
    dtype: str = "uint16",
) -> Path:
    """An EPSG:4326 raster over `bounds` made of `block` x `block` pixel squares: `values` is
    (bands, rows, columns) of squares, each square one value per band (easy to tell apart in a
    rendered tile), with band names, scales and offsets when given."""
    data = np.repeat(np.repeat(np.asarray(values), block, axis=1), block, axis=2)
    w, s, e, n = bounds
    transform = from_origin(w, n, (e - w) / data.shape[2], (n - s) / data.shape[1])
    _write(path, data, "EPSG:4326", transform, nodata=nodata, dtype=dtype)
    with rasterio.open(path, "r+") as dst:
        if descriptions:
            for band, text in enumerate(descriptions, 1):
                dst.set_band_description(band, text)
        if scales:
            dst.scales = scales
        if offsets:
            dst.offsets = offsets
    return path


def write_true_colour(path: Path, bounds, colour, res: float = 0.002) -> Path:
    """Red, green and blue bands (so named) of one colour over `bounds`, each band's values in
    {1000, 2000, 3000} as `colour` is 0, 0.5 or 1 of it, with a black strip along the north edge
    and a white one along the south (5% of the rows each): the 2-98% stretch asmdb records is
    1000-3000 in every band, so the colour drawn is `colour` x 255."""
    w, s, e, n = bounds
    width, height = round((e - w) / res), round((n - s) / res)
    strip = max(1, round(0.05 * height))
    data = np.empty((3, height, width), dtype=np.uint16)
    for band, share in enumerate(colour):
        data[band] = 1000 + round(2000 * share)
    data[:, :strip] = 1000
    data[:, -strip:] = 3000
    _write(path, data, "EPSG:4326", from_origin(w, n, res, res))
    with rasterio.open(path, "r+") as dst:
        dst.descriptions = ("red", "green", "blue")
    return path
