"""Default QGIS styles for asmdb's layers, kept in QGIS's own `public.layer_styles` table.

QGIS applies a layer's default style from that table whenever the layer is added, so a user
who adds `asmdb.latest_predictions` sees the probability map already styled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import psycopg
import pyogrio

from asm_db import layers
from asm_db.db.sqlfiles import load_sql
from asm_db.publish import qml

STYLE_NAME = "asmdb"
SCHEMA = layers.SCHEMA
GEOMETRY_COLUMN = "geom"


@dataclass(frozen=True)
class LayerStyle:
    table: str
    description: str
    qml: str


def layer_styles(pg: psycopg.Connection) -> list[LayerStyle]:
    """asmdb's style for each layer `asm_db.layers` declares; label categories follow the labels
    stored."""
    categories = qml.label_categories(pg.execute(load_sql("publish/label_style_values")).fetchall())
    styles = {
        "probability": qml.probability_qml,
        "blocks": lambda: qml.blocks_qml(
            layers.BLOCK_COLOR_PROPERTY,
            layers.BLOCK_HOT_PROPERTY,
            layers.HOT_TILE_PROBABILITY,
            layers.HOT_TILE_COLOR,
        ),
        "change": qml.change_qml,
        "zones": qml.zones_qml,
        "labels": lambda: qml.labels_qml(categories),
        "tiles": qml.tiles_qml,
        "review": qml.review_qml,
        "similar": qml.similar_qml,
    }
    documents = {name: styles[name]() for name in {layer.style for layer in layers.LAYERS}}
    return [
        LayerStyle(layer.table, layer.style_description, documents[layer.style])
        for layer in layers.LAYERS
    ]


def write_gpkg_style(path: str | Path, layer: str, qml_text: str, description: str) -> None:
    """Embed a default style in a GeoPackage as QGIS's OGR provider keeps it there: a
    `layer_styles` table (QGIS applies it when the layer is opened)."""
    style = pd.DataFrame(
        {
            "f_table_catalog": [""],
            "f_table_schema": [""],
            "f_table_name": [layer],
            "f_geometry_column": [GEOMETRY_COLUMN],
            "styleName": [STYLE_NAME],
            "styleQML": [qml_text],
            "styleSLD": [""],
            "useAsDefault": [True],
            "description": [description],
            "owner": [""],
            "ui": [""],
            "update_time": [datetime.now(UTC).replace(tzinfo=None)],
        }
    )
    pyogrio.write_dataframe(style, path, layer="layer_styles", driver="GPKG")


def install_styles(pg: psycopg.Connection, only: set[str] | None = None) -> list[str]:
    """Write asmdb's default styles (all layers, or the tables named in `only`).

    Style writers take turns (a lock on `layer_styles` that only writers conflict on, held to
    the end of the transaction): two at once would each delete the rows they see and insert
    their own, leaving a layer with two default styles."""
    pg.execute(load_sql("publish/layer_styles_lock"))
    written = []
    for style in layer_styles(pg):
        if only is not None and style.table not in only:
            continue
        pg.execute(
            load_sql("publish/layer_style_replace"),
            {
                "schema": SCHEMA,
                "table": style.table,
                "geometry_column": GEOMETRY_COLUMN,
                "style_name": STYLE_NAME,
                "qml": style.qml,
                "description": style.description,
            },
        )
        written.append(f"{SCHEMA}.{style.table}")
    return written
