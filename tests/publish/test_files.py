"""The one styled GeoPackage writer: whole file or none, never a half-written one."""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import box

from asm_db.errors import InputError
from asm_db.publish import qml
from asm_db.publish.files import write_styled_gpkg


def _frame(**extra) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"tile_id": [1, 2], "probability": [0.1, 0.9], **extra},
        geometry=[box(0, 0, 0.01, 0.01), box(0.01, 0, 0.02, 0.01)],
        crs=4326,
    ).rename_geometry("geom")


def test_writes_the_layer_and_its_style_and_nothing_else(tmp_path):
    out = write_styled_gpkg(
        _frame(), tmp_path / "map.gpkg", "predictions", qml.probability_qml(), "p"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.gpkg"]
    assert {name for name, _ in pyogrio.list_layers(out)} == {"predictions", "layer_styles"}
    style = pyogrio.read_dataframe(out, layer="layer_styles")
    assert style["f_table_name"].tolist() == ["predictions"]
    assert style["styleQML"][0] == qml.probability_qml()
    assert len(pyogrio.read_dataframe(out, layer="predictions")) == 2


def test_a_failure_mid_write_leaves_no_target_and_no_temporary_file(tmp_path):
    # GDAL creates the file, then cannot write a complex column: a real failure mid-write.
    with pytest.raises(NotImplementedError):
        write_styled_gpkg(
            _frame(bad=[1 + 2j, 3j]), tmp_path / "map.gpkg", "predictions", "<qgis/>", "p"
        )
    assert list(tmp_path.iterdir()) == []


def test_a_failure_leaves_an_earlier_file_as_it_was(tmp_path):
    out = write_styled_gpkg(_frame(), tmp_path / "map.gpkg", "predictions", "<qgis/>", "p")
    before = out.read_bytes()
    with pytest.raises(NotImplementedError):
        write_styled_gpkg(_frame(bad=[1 + 2j, 3j]), out, "predictions", "<qgis/>", "p")
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.gpkg"]


def _gpkg_layers(path) -> set[str]:
    """The tables of a GeoPackage, read with SQLite (GDAL itself misreads such names)."""
    import sqlite3

    with sqlite3.connect(path) as db:
        return {r[0] for r in db.execute("SELECT table_name FROM gpkg_contents")}


@pytest.mark.parametrize("name", ["a;b.gpkg", "a!b.gpkg", "a;x=1?y#z.gpkg", "a\nb.gpkg"])
def test_a_name_gdal_would_cut_is_written_whole_and_nothing_else(tmp_path, name):
    out = write_styled_gpkg(_frame(), tmp_path / name, "predictions", "<qgis/>", "p")
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert _gpkg_layers(out) == {"predictions", "layer_styles"}


def test_a_folder_gdal_would_misread_is_refused_before_anything_is_written(tmp_path):
    folder = tmp_path / "maps!2026"
    folder.mkdir()
    with pytest.raises(InputError, match="misread the folder's name"):
        write_styled_gpkg(_frame(), folder / "map.gpkg", "predictions", "<qgis/>", "p")
    assert list(tmp_path.iterdir()) == [folder] and list(folder.iterdir()) == []


@pytest.mark.slow
def test_every_export_writes_a_name_with_a_semicolon_whole_and_nothing_else(cli, trained, tmp_path):
    assert cli("review", "queue", "--per-stratum", "2").code == 0
    for i, (args, written) in enumerate(
        [
            (("export", "predictions", "a;b.gpkg"), ["a;b.gpkg"]),
            (("export", "predictions", "a;b.parquet"), ["a;b.parquet", "a;b.qml"]),
            (("review", "export", "q;x.gpkg"), ["q;x.gpkg"]),
        ]
    ):
        folder = tmp_path / f"out{i}"
        folder.mkdir()
        out = folder / args[2]
        done = cli(*args[:2], str(out), *args[3:])
        assert done.code == 0, done.stderr
        assert sorted(p.name for p in folder.iterdir()) == written
        if out.suffix == ".gpkg":
            assert len(_gpkg_layers(out)) == 2  # the layer and its style
    # A folder GDAL would misread: one line, before the map is read; nothing is written.
    folder = tmp_path / "maps!2026"
    folder.mkdir()
    done = cli("export", "predictions", str(folder / "map.gpkg"))
    assert done.code == 1 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "misread" in done.stderr
    assert list(folder.iterdir()) == []
