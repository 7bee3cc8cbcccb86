"""The layer registry: each part of asmdb that lists layers reads `asm_db.layers`.

What the server, QGIS and the page make of it against a real database and server is
`tests/test_server.py::test_every_declared_layer_is_served_styled_in_the_project_and_offered`."""

from __future__ import annotations

import re

import pytest

from asm_db import layers
from asm_db.db.sqlfiles import replaceable_files
from asm_db.publish import project, roles
from asm_db.server import ogc, tilecache


def test_the_server_serves_exactly_the_declared_layers_and_opens_the_public_ones():
    assert set(ogc.USER_COLLECTIONS) == {x.collection_id for x in layers.LAYERS if x.served}
    assert set(ogc.PUBLIC_COLLECTIONS) == {x.collection_id for x in layers.LAYERS if x.public}
    assert set(roles.PUBLIC_VIEWS) == {x.table for x in layers.LAYERS if x.public}


def test_anonymous_visitors_are_granted_the_imagery_columns_they_read_and_never_its_sources():
    """What `asm_db.server.imagery` reads of the registry as the visitor, the public role may
    read (the server's own test revokes it and is refused: tests/server/test_imagery.py); what
    an imagery is drawn from (files, scale, offset, stretch) the server reads as the reader, and
    the public role is never granted it."""
    from asm_db.db.sqlfiles import load_sql

    imagery = layers.IMAGERY
    assert roles.PUBLIC_COLUMNS.get(imagery.table) == (imagery.columns if imagery.public else None)
    assert {"files", "scale", "offset", "stretch"} <= set(imagery.sources)
    assert not set(imagery.columns) & set(imagery.sources)
    for statement, allowed in (
        ("web/imagery_offered", imagery.columns),
        ("web/imagery_source", imagery.columns),
        ("web/imagery_drawing", ("imagery_id", *imagery.sources)),
    ):
        text = load_sql(statement)
        assert f"FROM asmdb.{imagery.table}" in text
        read = set(re.findall(r"\b([a-z_]+)\b", text.split("FROM")[0].split("SELECT")[1]))
        words = {"array", "st_xmin", "st_ymin", "st_xmax", "st_ymax", "as", "bounds"}
        assert read - words <= set(allowed), statement
    # Run as the visitor too (the page's ranked list): none of the sources.
    text = load_sql("imagery/imagery_for_period")
    assert not re.search(r"\b(files|scale|stretch|offset)\b", text.split("FROM asmdb.")[0])
    with pytest.raises(ValueError, match="never by visitors"):
        layers.ImageryLayer(
            "imagery", "Imagery", True, ("imagery_id", "name", "files"), "/api/imagery", "/t"
        )


def test_the_tile_cache_keeps_the_tiles_of_the_declared_layers_only():
    for layer in layers.LAYERS:
        path = f"/collections/{layer.collection_id}/tiles/WebMercatorQuad/6/30/30"
        kept = tilecache.cacheable_collection(path) == layer.collection_id
        assert kept == layer.tile_cached, layer.table
    assert tilecache.cacheable_collection("/collections/asmdb.tiles/tiles/W/6/30/30") is None


def test_each_layers_view_is_made_and_remade_after_an_upgrade():
    schema = dict(replaceable_files())
    for layer in layers.LAYERS:
        if layer.sql_file:
            made = [name for name in schema if name.endswith(f"_{layer.sql_file}.sql")]
            assert len(made) == 1, (layer.table, sorted(schema))
            assert f"CREATE OR REPLACE VIEW asmdb.{layer.table} AS" in schema[made[0]]


def test_the_qgis_project_holds_the_declared_layers_in_their_order():
    assert [x.table for x in project.PROJECT_LAYERS] == [
        x.table for x in sorted(layers.in_project(), key=lambda x: x.project_order)
    ]
    orders = [x.project_order for x in layers.LAYERS if x.project_order is not None]
    assert sorted(orders) == list(range(1, len(orders) + 1))


def test_the_page_draws_only_served_layers_and_their_overviews_exist():
    for layer in layers.drawn():
        assert layer.served and layer.tile_properties, layer.table
        assert layer.key in layer.tile_properties, layer.table
        if layer.web.overviews:
            companion = layers.BY_COLLECTION[layer.web.overviews]
            assert companion.served and companion.public == layer.public
    ids = [x.web.id for x in layers.drawn()]
    assert len(ids) == len(set(ids))


def test_a_layer_of_an_unknown_kind_or_style_is_refused():
    with pytest.raises(ValueError, match="kind"):
        layers.WebLayer("x", "X", "heatmap", {})
    with pytest.raises(ValueError, match="style"):
        layers.Layer("x", "x_id", "Polygon", "sparkles", "")
    with pytest.raises(ValueError, match="public"):
        layers.Layer("x", "x_id", "Polygon", "tiles", "", public=True)


def test_the_page_and_qgis_colour_blocks_by_their_mean_and_outline_those_with_a_hot_tile(pg):
    """A block of tiles is drawn in the class of its mean probability, never of its highest
    (one hot tile would colour the whole block); a block holding a top-class tile is outlined.
    The page's paint and the overview layers' QGIS style say the same."""
    from asm_db.publish import qml, styles

    hot = [">=", ["get", "probability"], 0.8]
    for layer in layers.drawn():
        if not layer.web.overviews:
            continue
        config = layers.web_config(layer)
        assert config["overview_paint"]["fill-color"][:2] == ["step", ["get", "probability_mean"]]
        assert config["overview_outline"]["filter"] == hot
        blocks = layers.BY_COLLECTION[layer.web.overviews]
        assert {"probability_mean", "probability"} <= set(blocks.tile_properties)
    documents = {s.table: s.qml for s in styles.layer_styles(pg)}
    for table in ("latest_overviews", "overviews_by_period", "map_overviews"):
        renderer = qml.renderer_element(documents[table])
        assert renderer.get("attr") == "probability_mean", table
        enabled = [e.get("value") for e in renderer.iter("Option") if e.get("name") == "expression"]
        assert enabled and set(enabled) == {'"probability" >= 0.8'}, table
    assert qml.renderer_element(documents["latest_predictions"]).get("attr") == "probability"
