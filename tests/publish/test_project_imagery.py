"""The mosaic VRT of an imagery's files reads as `gdalbuildvrt` would make it: the files'
pixels, later files on top, no-data and masked pixels letting the file below show, and a mask
clear where no file has a valid pixel. `/usr/bin/gdalbuildvrt` (Debian's gdal-bin, which QGIS
brings) is the reference here only; asmdb never runs it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import rasterio

from asm_db.imagery.registry import ImageryRecord
from asm_db.publish.project_imagery import mosaic_vrt, read_headers

from rasters import write_4326

GDALBUILDVRT = Path("/usr/bin/gdalbuildvrt")
NORTH = 8.44


def _nodata_holes(path: Path, *columns: slice) -> Path:
    """Pixels of value 0 (the file's no data) in the first five rows at `columns`."""
    with rasterio.open(path, "r+") as dst:
        data = dst.read()
        for cols in columns:
            data[:, :5, cols] = 0
        dst.write(data)
    return path


def _files(tmp: Path) -> dict[str, Path]:
    """a and b: no no-data, a gap between them; c: no data 0 across a, the gap and b, with
    holes over a and over the gap; d: no data 0, east of c and over it, with a hole over c; m:
    an internal mask hiding its west half, which lies over the gap and b."""
    files = {
        "a": write_4326(tmp / "a.tif", bounds=(-11.200, 8.40, -11.190, NORTH)),
        "b": write_4326(tmp / "b.tif", bounds=(-11.180, 8.40, -11.170, NORTH)),
        "c": write_4326(tmp / "c.tif", bounds=(-11.195, 8.42, -11.175, 8.43), nodata=0),
        "d": write_4326(tmp / "d.tif", bounds=(-11.185, 8.42, -11.165, 8.43), nodata=0),
    }
    _nodata_holes(files["c"], slice(0, 5), slice(13, 18))
    _nodata_holes(files["d"], slice(0, 10))
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        files["m"] = write_4326(tmp / "m.tif", bounds=(-11.185, 8.405, -11.165, 8.415))
        with rasterio.open(files["m"], "r+") as dst:
            mask = np.full((dst.height, dst.width), 255, np.uint8)
            mask[:, : dst.width // 2] = 0
            dst.write_mask(mask)
    assert not Path(f"{files['m']}.msk").exists()  # inside the file
    return files


def _record(paths: list[Path]) -> ImageryRecord:
    return ImageryRecord(
        name="mosaic",
        period_start=None,
        period_end=None,
        bounds=(0, 0, 0, 0),
        bands=["b1", "b2", "b3"],
        files=[str(p) for p in paths],
        scale=[1.0] * 3,
        offset=[0.0] * 3,
    )


def _ours(paths: list[Path], out: Path) -> Path:
    out.write_text(mosaic_vrt(_record(paths), read_headers(map(str, paths))))
    return out


@pytest.mark.skipif(
    not GDALBUILDVRT.exists(), reason="no /usr/bin/gdalbuildvrt (Debian's gdal-bin) to compare with"
)
@pytest.mark.parametrize(
    ("names", "options"),
    [
        # Files without no data: gdalbuildvrt's -addalpha marks where a file is.
        (["a", "b"], ["-addalpha"]),
        # Files with no data 0: gdalbuildvrt makes 0 the mosaic's no data.
        (["c", "d"], []),
        # A file with an internal mask: gdalbuildvrt makes a mask band of every file's mask.
        (["a", "b", "c", "m"], []),
    ],
    ids=["gap", "nodata", "internal-mask"],
)
def test_the_mosaic_reads_as_gdalbuildvrts(tmp_path, names, options):
    files = _files(tmp_path)
    paths = [files[n] for n in names]
    reference = tmp_path / "gdalbuildvrt.vrt"
    subprocess.run(
        [str(GDALBUILDVRT), "-q", *options, str(reference), *map(str, paths)],
        check=True,
        capture_output=True,
    )
    ours = _ours(paths, tmp_path / "ours.vrt")
    with rasterio.open(reference) as ref, rasterio.open(ours) as src:
        assert (src.width, src.height, src.transform) == (ref.width, ref.height, ref.transform)
        assert src.count == 3 and src.dtypes == ref.dtypes[:3]
        mask, valid = src.dataset_mask(), ref.dataset_mask()  # -addalpha: its alpha band
        data, expected = src.read(), ref.read([1, 2, 3])
    assert set(np.unique(valid)) == {0, 255}  # something of the mosaic is empty
    np.testing.assert_array_equal(mask, valid)
    np.testing.assert_array_equal(data[:, valid > 0], expected[:, valid > 0])


def test_no_data_and_masked_pixels_show_the_file_below_or_nothing(tmp_path):
    """The cases the mosaic exists for, pixel by pixel: a gap, a no-data hole over a file and
    over the gap, a masked half over a file and over the gap."""
    files = _files(tmp_path)
    paths = [files[n] for n in ("a", "b", "c", "m")]
    with rasterio.open(_ours(paths, tmp_path / "ours.vrt")) as src:
        mask, data = src.dataset_mask(), src.read(1)
        with rasterio.open(files["a"]) as a, rasterio.open(files["b"]) as b:
            a1, b1 = a.read(1), b.read(1)

        def at(lon, lat):
            return src.index(lon, lat)

        row, col = at(-11.1849, 8.4399)  # the gap, north of everything but a and b
        assert mask[row, col] == 0
        row, col = at(-11.1949, 8.4299)  # c's hole over a: a's pixel
        assert mask[row, col] == 255 and data[row, col] == a1[row, col]
        row, col = at(-11.1884, 8.4299)  # c's hole over the gap: nothing
        assert mask[row, col] == 0
        row, col = at(-11.1886, 8.4251)  # c over the gap, below its hole: c's pixel
        assert mask[row, col] == 255 and data[row, col] > 0
        row, col = at(-11.1799, 8.4101)  # m's masked half over b: b's pixel
        assert mask[row, col] == 255 and data[row, col] == b1[row, col - 40]
        row, col = at(-11.1849, 8.4101)  # m's masked half over the gap: nothing
        assert mask[row, col] == 0
        row, col = at(-11.1669, 8.4101)  # m's own half east of b: m's pixel
        assert mask[row, col] == 255 and data[row, col] > 0


def test_files_of_two_data_types_make_a_mosaic_of_the_wider_one(tmp_path):
    narrow = write_4326(tmp_path / "narrow.tif", bounds=(-11.200, 8.40, -11.190, NORTH))
    wide = write_4326(
        tmp_path / "wide.tif", bounds=(-11.190, 8.40, -11.180, NORTH), dtype="float32"
    )
    with rasterio.open(wide, "r+") as dst:
        dst.write(dst.read() + np.float32(0.25))  # not a whole number: a uint16 would lose it
    with rasterio.open(_ours([narrow, wide], tmp_path / "ours.vrt")) as src:
        assert src.dtypes == ("float32",) * 3
        data = src.read()
    with rasterio.open(narrow) as a, rasterio.open(wide) as b:
        np.testing.assert_array_equal(data[:, :, :20], a.read().astype("float32"))
        np.testing.assert_array_equal(data[:, :, 20:], b.read())
