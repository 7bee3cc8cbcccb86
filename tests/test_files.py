"""The one styled GeoPackage writer: whole file or none, never a half-written one."""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import box

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
