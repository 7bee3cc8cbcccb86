"""What the web server offers and how it shows it: every declared layer served, styled in the
project and offered by `/api/config`. On the session's `site` (a trained sample database served by
the installed command)."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile

import pytest

from asm_db import layers

from conftest import run_asmdb
from web_server import client, collection_ids, site_connection

pytestmark = [
    pytest.mark.slow,  # starts the web server on a trained database
    pytest.mark.xdist_group("site"),  # one worker builds the session's site
]


@pytest.fixture
def pg(site):
    """The site's own database, not a throwaway clone."""
    with site_connection(site) as conn:
        yield conn


def test_every_declared_layer_is_served_styled_in_the_project_and_offered(site, pg):
    """Each layer `asm_db.layers` declares: in the catalog when served, with a default QGIS
    style, in the stored project in its order, and offered to the page by /api/config exactly
    when the visitor may read it; never a layer it does not declare."""
    done = run_asmdb(site["url"], "qgis", "install")
    assert done.code == 0, done.stderr
    served = sorted(x.collection_id for x in layers.served())
    public = sorted(x.collection_id for x in layers.public())
    anonymous, ana = client(site), client(site, "ana")
    assert collection_ids(anonymous.get("/collections")) == public
    assert collection_ids(ana.get("/collections")) == served
    styled = pg.execute(
        "SELECT f_table_name FROM public.layer_styles WHERE f_table_schema = 'asmdb' "
        "AND stylename = 'asmdb' AND useasdefault"
    ).fetchall()
    assert sorted(r[0] for r in styled) == sorted(x.table for x in layers.LAYERS)
    content = pg.execute("SELECT content FROM asmdb.qgis_projects WHERE name = 'asmdb'").fetchone()
    with zipfile.ZipFile(io.BytesIO(content[0])) as archive:
        document = ET.fromstring(archive.read("asmdb.qgs"))
    assert [node.get("name") for node in document.iter("layer-tree-layer")] == [
        x.project.title for x in layers.in_project()
    ]
    for visitor, readable in ((anonymous, public), (ana, served)):
        config = visitor.get("/api/config").json()
        assert sorted(config["collections"]) == readable
        assert [x["collection"] for x in config["layers"]] == [
            x.collection_id for x in layers.drawn() if x.collection_id in readable
        ]
        for offered in config["layers"]:
            layer = layers.BY_COLLECTION[offered["collection"]]
            assert offered == layers.web_config(layer)
            assert offered["kind"] in layers.WEB_KINDS


def test_the_config_colours_overview_blocks_by_their_mean_probability(site, pg):
    """/api/config gives the page the blocks' paint: the class of their mean probability, and an
    outline on blocks holding a tile of 0.8 or more; the blocks' tiles carry both values."""
    config = client(site).get("/api/config").json()
    drawn = {x["id"]: x for x in config["layers"]}
    for layer_id in ("predictions", "periods"):
        offered = drawn[layer_id]
        assert offered["overview_paint"]["fill-color"][:2] == ["step", ["get", "probability_mean"]]
        assert offered["paint"]["fill-color"][:2] == ["step", ["get", "probability"]]
        assert offered["overview_outline"]["filter"] == [">=", ["get", "probability"], 0.8]
        properties = config["collections"][offered["overviews"]]["properties"]
        assert {"probability_mean", "probability"} <= set(properties)
    assert "mean probability" in config["blocks_legend"]["fill"]
    assert "0.8 or more" in config["blocks_legend"]["outline"]
