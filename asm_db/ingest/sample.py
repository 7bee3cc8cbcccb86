"""`asmdb sample-data`: a small, realistic data set in the seed's two file formats.

Mining intensity is a smooth field of hotspots along a river; each tile's features are random
convolution-like responses (ReLU of random projections) of its intensity, vegetation and water
plus noise, so features carry a real but imperfect spatial signal. Labels are field points
whose chance of being a mine rises with intensity, with the quality columns the seed filters on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.ndimage import gaussian_filter

# A corner of the Kono district, Sierra Leone; tiles are MOSAIKS' 0.01-degree grid, centred on
# x.xx5 as in the seed's image_id lat_8--125__lon_-11--235.
ORIGIN_LAT = 8.40
ORIGIN_LON = -11.20
TILE = 0.01
FEATURE_CHUNK_ROWS = 16_384  # rows of a record batch of the feather files
FEATURE_STEP_ROWS = 1_024  # rows of features computed at a time


@dataclass(frozen=True)
class SampleData:
    labels: Path
    features: Path
    n_tiles: int
    n_labels: int
    n_features: int
    truth: Path | None = None  # SLE_truth.csv: image_id, is_mine (what a reviewer would see)
    imagery: Path | None = None  # SLE_imagery.tif: what a satellite sees, for `asmdb featurize`
    later_features: Path | None = None  # SLE_features_later.feather: a later period
    later_truth: Path | None = None  # SLE_truth_later.csv: the later period's truth
    later_imagery: Path | None = None  # SLE_imagery_later.tif: the later period as imagery


def image_id(lat: float, lon: float) -> str:
    """The seed's tile name: lat_8--125__lon_-11--235 for (8.125, -11.235)."""
    return f"lat_{lat:.3f}__lon_{lon:.3f}".replace(".", "--")


def _fields(n_lat: int, n_lon: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    yy, xx = np.mgrid[0:n_lat, 0:n_lon].astype(float)
    river_x = n_lon * (0.35 + 0.15 * np.sin(yy / n_lat * 3 * np.pi))
    river = np.exp(-((xx - river_x) ** 2) / (2 * (0.04 * n_lon) ** 2))
    intensity = 0.6 * river
    for _ in range(4):
        cy, cx = rng.uniform(0, n_lat), rng.uniform(0, n_lon)
        spread = rng.uniform(0.05, 0.12) * max(n_lat, n_lon)
        intensity += rng.uniform(0.4, 0.9) * np.exp(
            -((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * spread**2)
        )
    intensity = np.clip(intensity / intensity.max(), 0, 1)
    vegetation = np.clip(1 - intensity + 0.2 * rng.standard_normal((n_lat, n_lon)), 0, 1)
    fields = {"intensity": intensity, "vegetation": vegetation, "water": river}
    # Landscape the satellite sees (soils, terrain) varies smoothly in space, and so does what
    # it cannot see (local history, access) that makes one area mine more than another. Both
    # are spatially autocorrelated, as in real MOSAIKS data: neighbouring tiles look alike and
    # share their odds, which is what a random split leaks and spatial CV does not.
    for k in range(3):
        fields[f"landscape_{k}"] = _smooth(n_lat, n_lon, 0.12, rng)
    fields["regional"] = _smooth(n_lat, n_lon, 0.1, rng)
    return fields


def _smooth(n_lat: int, n_lon: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth random field with unit variance; `scale` is its correlation length."""
    field = gaussian_filter(rng.standard_normal((n_lat, n_lon)), sigma=scale * max(n_lat, n_lon))
    return (field - field.mean()) / field.std()


def write_sample_data(
    out_dir: str | Path,
    *,
    n_lat: int = 40,
    n_lon: int = 40,
    n_features: int = 4000,
    n_labels: int = 1000,
    edge_share: float = 0.04,
    seed: int = 7,
) -> SampleData:
    """Write `SLE_mines.csv` and `SLE_features.feather` into `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    fields = _fields(n_lat, n_lon, rng)

    # Tiles row-major from the south-west, as MOSAIKS exports them.
    lats = np.round(ORIGIN_LAT + TILE * np.arange(n_lat) + TILE / 2, 3)
    lons = np.round(ORIGIN_LON + TILE * np.arange(n_lon) + TILE / 2, 3)
    grid_lat, grid_lon = np.meshgrid(lats, lons, indexing="ij")
    covariates = np.column_stack(
        [
            fields[k].ravel()
            for k in (
                "intensity",
                "vegetation",
                "water",
                "landscape_0",
                "landscape_1",
                "landscape_2",
            )
        ]
        + [rng.standard_normal(n_lat * n_lon) * 0.5 for _ in range(5)]
    )
    weights = rng.standard_normal((covariates.shape[1], n_features))
    bias = rng.standard_normal(n_features) * 0.5
    ids = [image_id(a, o) for a, o in zip(grid_lat.ravel(), grid_lon.ravel(), strict=True)]
    features_path = out / "SLE_features.feather"
    _write_features(features_path, ids, covariates, weights, bias, rng)

    labels = _labels(n_labels, lats, lons, fields["intensity"], fields["regional"], edge_share, rng)
    labels_path = out / "SLE_mines.csv"
    labels.to_csv(labels_path, index=False)
    # The ground truth a reviewer finds in the imagery: a tile is mined where mining is likely.
    truth_path = out / "SLE_truth.csv"
    pd.DataFrame(
        {
            "image_id": ids,
            "is_mine": (mine_probability(fields["intensity"], fields["regional"]) >= 0.5)
            .ravel()
            .astype(int),
        }
    ).to_csv(truth_path, index=False)
    imagery_path = write_sample_imagery(out / "SLE_imagery.tif", fields["intensity"], seed=seed)

    # A later period: the same landscape seen by the same featurizer, where mining opened
    # around a new hotspot and stopped around an old one. Its own generator, so the first
    # period's files are the same with or without it.
    later_rng = np.random.default_rng([seed, 2])
    later = later_intensity(fields["intensity"], later_rng)
    changed = covariates.copy()
    changed[:, 0] = later.ravel()
    changed[:, 1] = np.clip(fields["vegetation"] - (later - fields["intensity"]), 0, 1).ravel()
    later_features = out / "SLE_features_later.feather"
    _write_features(later_features, ids, changed, weights, bias, later_rng)
    later_imagery = write_sample_imagery(out / "SLE_imagery_later.tif", later, seed=seed)
    later_truth = out / "SLE_truth_later.csv"
    pd.DataFrame(
        {
            "image_id": ids,
            "is_mine": (mine_probability(later, fields["regional"]) >= 0.5).ravel().astype(int),
        }
    ).to_csv(later_truth, index=False)
    return SampleData(
        labels_path,
        features_path,
        n_lat * n_lon,
        len(labels),
        n_features,
        truth_path,
        imagery_path,
        later_features,
        later_truth,
        later_imagery,
    )


def later_intensity(intensity: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mining intensity some time later: a new hotspot where there was little mining, and the
    strongest old hotspot abandoned (its intensity falls to a fifth)."""
    n_lat, n_lon = intensity.shape
    yy, xx = np.mgrid[0:n_lat, 0:n_lon].astype(float)
    quiet = np.argwhere(intensity < 0.2)
    cy, cx = quiet[rng.integers(len(quiet))] if len(quiet) else (n_lat / 2, n_lon / 2)
    spread = 0.08 * max(n_lat, n_lon)
    opened = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * spread**2))
    sy, sx = np.unravel_index(np.argmax(intensity), intensity.shape)
    closed = np.exp(-((yy - sy) ** 2 + (xx - sx) ** 2) / (2 * spread**2))
    later = intensity * (1 - 0.8 * closed) + 0.9 * opened
    return np.clip(later, 0, 1)


def _write_features(
    path: Path,
    ids: list[str],
    covariates: np.ndarray,
    weights: np.ndarray,
    bias: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Features (ReLU of random projections of the covariates, plus noise) as feather, written
    a record batch at a time (feather's own default chunk), so a region of any size is
    generated in bounded memory; the file is what pyarrow.feather.write_feather writes."""
    n_features = weights.shape[1]
    names = [f"feature_{i}" for i in range(n_features)]
    schema = pa.schema([("image_id", pa.string())] + [(n, pa.float32()) for n in names])
    options = pa.ipc.IpcWriteOptions(compression="lz4")
    with (
        pa.OSFile(str(path), "wb") as sink,
        pa.ipc.new_file(sink, schema, options=options) as writer,
    ):
        for start in range(0, len(ids), FEATURE_CHUNK_ROWS):
            rows = slice(start, start + FEATURE_CHUNK_ROWS)
            features = np.empty((len(ids[rows]), n_features), np.float32)
            # Made a few rows at a time: the float64 steps of a whole batch would be 3 x its size.
            # The noise is drawn row after row as one draw of the batch would draw it.
            for sub in range(0, len(features), FEATURE_STEP_ROWS):
                part = slice(start + sub, start + min(sub + FEATURE_STEP_ROWS, len(features)))
                values = np.maximum(covariates[part] @ weights + bias, 0).astype(np.float32)
                noise = rng.standard_normal(values.shape).astype(np.float32)
                values += noise * np.float32(0.3)
                features[sub : sub + len(values)] = values
            columns = [pa.array(ids[rows], pa.string())]
            columns += [pa.array(features[:, i]) for i in range(n_features)]
            writer.write_batch(pa.record_batch(columns, schema=schema))


def mine_probability(intensity: np.ndarray, regional: np.ndarray) -> np.ndarray:
    """The chance that a point in a tile is a mine, from its intensity and regional effect."""
    return 1 / (1 + np.exp(-8 * (intensity - 0.45) - 1.5 * regional))


def _labels(
    n: int,
    lats: np.ndarray,
    lons: np.ndarray,
    intensity: np.ndarray,
    regional: np.ndarray,
    edge_share: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    i = rng.integers(0, len(lats), n)
    j = rng.integers(0, len(lons), n)
    lat = lats[i] + rng.uniform(-0.0045, 0.0045, n)
    lon = lons[j] + rng.uniform(-0.0045, 0.0045, n)
    # Some points lie exactly on a tile's east edge or north-east corner, computed as the
    # seed computes the edge (centre + 0.005), so they touch the neighbouring tiles too.
    on_edge = rng.random(n) < edge_share * 0.75
    on_corner = rng.random(n) < edge_share * 0.25
    lon = np.where(on_edge | on_corner, lons[j] + TILE / 2, lon)
    lat = np.where(on_corner, lats[i] + TILE / 2, lat)

    p_mine = mine_probability(intensity[i, j], regional[i, j])
    label = (rng.random(n) < p_mine).astype(int)
    mine_type = np.where(label == 1, np.where(rng.random(n) < 0.1, "commercial", "artisanal"), None)
    confidence = rng.choice([1, 2, 3, 4, 5], n, p=[0.05, 0.1, 0.25, 0.3, 0.3])
    proportion = np.round(rng.uniform(0, 1, n), 2)
    return pd.DataFrame(
        {
            "lon": lon,
            "lat": lat,
            "unique_id": [f"SLE-{k:05d}" for k in range(n)],
            "country": "SLE",
            "sample_type": np.where(rng.random(n) < 0.5 + 0.3 * label, "targeted", "random"),
            "mine_type": mine_type,
            "confidence": confidence,
            "label": label,
            "proportion_inspected": proportion,
            "survey_round": rng.choice(["2022-dry", "2023-wet", "2023-dry"], n),
        }
    )


IMAGERY_CRS = "EPSG:32629"  # UTM zone 29N, the zone of Sierra Leone
IMAGERY_RESOLUTION = 60.0  # metres: about 18 pixels along a 0.01-degree tile


IMAGERY_STRIP_ROWS = 256  # rows of pixels made at a time (one row of the file's 256 x 256 tiles)
TEXTURE_SIGMA, BLOBS_SIGMA = 1.5, 2.5  # pixels


def write_sample_imagery(
    path: str | Path,
    intensity: np.ndarray,
    *,
    resolution: float = IMAGERY_RESOLUTION,
    seed: int = 7,
) -> Path:
    """A 3-band (red, green, blue) reflectance GeoTIFF of the sample region in UTM 29N.

    Stored as Sentinel-2 L2A stores it (uint16, reflectance x 10000, scale 1e-4 in the file's
    metadata, nodata 0). Where mining `intensity` (one value per tile, rows from the south) is
    high the ground is bright and bare with dark ponds; elsewhere it is vegetation. The texture
    varies within a tile, so convolutional features see more than a mean colour.

    Made and written a strip of rows at a time, so memory follows the strip, not the region:
    the random fields are drawn in the order a whole-region draw takes them (one generator
    state saved where each field starts) and smoothed with the rows their filter reaches.
    """
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.warp import transform as warp_points
    from rasterio.windows import Window

    n_lat, n_lon = intensity.shape
    west, south = ORIGIN_LON, ORIGIN_LAT
    east, north = west + n_lon * TILE, south + n_lat * TILE
    xs, ys = warp_points(
        "EPSG:4326", IMAGERY_CRS, [west, east, west, east], [south, south, north, north]
    )
    left, right, bottom, top = min(xs), max(xs), min(ys), max(ys)
    width, height = int((right - left) // resolution), int((top - bottom) // resolution)
    # One generator drew texture noise, blob noise, then each band's pixel noise, each over the
    # whole region: the state where each of the five starts.
    starts = _normal_starts(np.random.default_rng(seed + 1), [height * width] * 4)
    texture = _SmoothNoise(starts[0], height, width, TEXTURE_SIGMA)
    blobs = _SmoothNoise(starts[1], height, width, BLOBS_SIGMA)
    band_noise = [_generator(state) for state in starts[2:]]
    path = Path(path)
    profile = dict(
        driver="GTiff",
        width=width,
        height=height,
        count=3,
        dtype="uint16",
        crs=IMAGERY_CRS,
        transform=from_origin(left, top, resolution, resolution),
        nodata=0,
        tiled=True,
        blockxsize=256,
        blockysize=256,
        compress="deflate",
    )
    with rasterio.open(path, "w", **profile) as dst:
        for row0 in range(0, height, IMAGERY_STRIP_ROWS):
            rows = min(IMAGERY_STRIP_ROWS, height - row0)
            data = _imagery_strip(
                intensity,
                (left, top, resolution),
                row0,
                rows,
                width,
                texture.strip(row0, rows) / texture.std,
                blobs.strip(row0, rows) / blobs.std,
                np.stack([g.normal(0, 0.004, (rows, width)) for g in band_noise]),
            )
            dst.write(data, window=Window(0, row0, width, rows))
        dst.scales = (1e-4,) * 3
        dst.descriptions = ("red", "green", "blue")
        dst.update_tags(TIFFTAG_DATETIME="2024:02:15 10:30:00")
    return path


def _imagery_strip(
    intensity: np.ndarray,
    origin: tuple[float, float, float],
    row0: int,
    rows: int,
    width: int,
    texture: np.ndarray,
    blobs: np.ndarray,
    noise: np.ndarray,
) -> np.ndarray:
    """The uint16 reflectance of pixel rows row0 .. row0 + rows (see write_sample_imagery)."""
    from rasterio.warp import transform as warp_points
    from scipy.ndimage import map_coordinates

    left, top, resolution = origin
    west, south = ORIGIN_LON, ORIGIN_LAT
    n_lat, n_lon = intensity.shape
    east, north = west + n_lon * TILE, south + n_lat * TILE
    cols, pixel_rows = np.meshgrid(np.arange(width), np.arange(row0, row0 + rows))
    x = left + (cols + 0.5) * resolution
    y = top - (pixel_rows + 0.5) * resolution
    lon, lat = (
        np.reshape(v, x.shape) for v in warp_points(IMAGERY_CRS, "EPSG:4326", x.ravel(), y.ravel())
    )
    # Mining intensity at each pixel, from the tile-centre values (bilinear).
    field = map_coordinates(
        intensity, [(lat - south) / TILE - 0.5, (lon - west) / TILE - 0.5], order=1, mode="nearest"
    )
    bare = np.clip((field - 0.4) * 4 + 0.5 * texture, 0, 1)  # share of bare ground
    pond = (bare > 0.6) & (blobs > 1.2)
    veg = np.array([0.035, 0.07, 0.03])[:, None, None] * (1 + 0.25 * texture)
    soil = np.array([0.32, 0.27, 0.2])[:, None, None] * (1 + 0.1 * texture)
    water = np.array([0.03, 0.05, 0.06])[:, None, None]
    reflectance = veg * (1 - bare) + soil * bare
    reflectance = np.where(pond, water, reflectance)
    reflectance += noise
    inside = (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
    data = np.clip(np.round(reflectance * 10000), 1, 10000).astype(np.uint16)
    data[:, ~inside] = 0
    return data


NOISE_DRAW = 1 << 22  # normal values drawn at a time when only the generator's state is wanted


def _generator(state: dict) -> np.random.Generator:
    bits = np.random.PCG64()
    bits.state = state
    return np.random.Generator(bits)


def _normal_starts(rng: np.random.Generator, sizes: list[int]) -> list[dict]:
    """The generator's state before each of len(sizes) + 1 consecutive standard-normal draws
    of these sizes (the values drawn and dropped a chunk at a time)."""
    states = [rng.bit_generator.state]
    for size in sizes:
        for start in range(0, size, NOISE_DRAW):
            rng.standard_normal(min(NOISE_DRAW, size - start))
        states.append(rng.bit_generator.state)
    return states


class _SmoothNoise:
    """gaussian_filter(standard_normal((height, width)), sigma) from a generator state, a strip
    of rows at a time, each value equal to the whole field's; `std` is the whole field's."""

    def __init__(self, state: dict, height: int, width: int, sigma: float):
        self.state, self.height, self.width, self.sigma = state, height, width, sigma
        self.halo = int(4.0 * sigma + 0.5)  # the rows scipy's filter reaches (truncate=4)
        self._restart()
        total = count = 0.0
        for row0 in range(0, height, IMAGERY_STRIP_ROWS):
            strip = self.strip(row0, min(IMAGERY_STRIP_ROWS, height - row0))
            total += strip.sum()
            count += strip.size
        mean = total / count
        self._restart()
        squares = 0.0
        for row0 in range(0, height, IMAGERY_STRIP_ROWS):
            strip = self.strip(row0, min(IMAGERY_STRIP_ROWS, height - row0))
            squares += np.square(strip - mean).sum()
        self._restart()
        self.std = float(np.sqrt(squares / count))

    def _restart(self) -> None:
        self._rng = _generator(self.state)
        self._first = 0  # the first row held in _rows
        self._rows = np.empty((0, self.width))

    def _noise_rows(self, a: int, b: int) -> np.ndarray:
        """Noise rows a .. b; requests move forward, rows before a are dropped."""
        b = min(b, self.height)
        have = self._first + len(self._rows)
        if b > have:
            more = self._rng.standard_normal((b - have) * self.width).reshape(-1, self.width)
            self._rows = np.concatenate([self._rows, more])
        drop = a - self._first
        if drop > 0:
            self._rows = self._rows[drop:]
            self._first = a
        return self._rows[: b - a]

    def strip(self, row0: int, rows: int) -> np.ndarray:
        from scipy.ndimage import gaussian_filter

        a = max(0, row0 - self.halo)
        noise = self._noise_rows(a, row0 + rows + self.halo)
        smooth = gaussian_filter(noise, sigma=self.sigma)
        return smooth[row0 - a : row0 - a + rows]
