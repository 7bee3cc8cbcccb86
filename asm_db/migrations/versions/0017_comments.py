"""COMMENT ON text for every table, column and function of the asmdb schema that revisions make.

QGIS shows these comments in its browser and layer properties, tipg in its collection
descriptions, and docs/sql.md is generated from them. The views and functions of sql/schema/
carry their own comments, re-applied at head. Objects that already had a comment keep it; the
downgrade removes only the comments this revision added.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from alembic import op
from psycopg import sql

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

SCHEMA = "asmdb"

TABLES = {
    "labels": "Ground-truth points: one row per label file row (asmdb ingest labels), "
    "keyed by unique_id.",
    "tiles": "The tiles of every grid: one square cell per row, the unit features, maps and "
    "reviews are about.",
    "feature_sets": "Named sets of feature vectors (MOSAIKS random convolutional features) "
    "on one grid, for one period.",
    "tile_features": "One feature vector per (feature set, tile), as n_features little-endian "
    "float32 values.",
    "model_runs": "Trained models: parameters, cross-validated metrics and the model itself, "
    "one row per asmdb train.",
    "run_evaluations": "Each run's out-of-fold predictions for the labelled tiles it was "
    "trained and evaluated on.",
    "maps": "A run's model applied to a feature set: one map per (run, feature set); the "
    "promoted map of each period is the one shown.",
    "predictions": "Every map's probability per tile, one partition per map (predictions_map_N).",
    "changes": "Change maps between two maps (asmdb change): parameters and totals; the "
    "tiles are in change_tiles.",
    "review_queue": "Tiles queued for review (hotspot, uncertain, stratified sample, change "
    "sample) and the reviewers' answers.",
    "similarity_queries": "Similar-tile searches: the tiles asked about and how they were "
    "searched.",
    "similar_tiles": "The tiles a similarity query found, ranked, with their outlines for QGIS.",
}

VIEWS = {
    "tile_feature_arrays": "tile_features with each vector as real[] (slow: for reading a few "
    "vectors in SQL).",
}

COLUMNS = {
    "labels": {
        "label_id": "The label's number in asmdb.",
        "unique_id": "The label file's identifier of the label; re-ingesting it updates the row.",
        "lon": "Longitude, EPSG:4326 degrees.",
        "lat": "Latitude, EPSG:4326 degrees.",
        "country": "Country of the label, as the label file gives it.",
        "sample_type": "How the label was collected, as the label file gives it.",
        "mine_type": "Kind of mine (artisanal, commercial, ...); filtered_labels() drops "
        "commercial ones by default.",
        "confidence": "The labeller's confidence (the seed keeps 3 and above).",
        "label": "1: mining, 0: no mining.",
        "proportion_inspected": "Share of the tile the labeller inspected, 0 to 1.",
        "extra": "The label file's other columns, as JSON.",
        "source_file": "Name of the file the label came from.",
        "ingested_at": "When the label was last written.",
        "geom": "The label's point (lon, lat).",
    },
    "tiles": {
        "tile_id": "The tile's id: its grid's number in the top bits, its cell on the grid "
        "below (asmdb.grid_tile_id).",
        "image_id": "The imagery tile's identifier, where the features file gave one.",
        "lat": "Latitude of the tile's centre.",
        "lon": "Longitude of the tile's centre.",
        "geom": "The tile's square outline, EPSG:4326.",
        "grid_id": "The grid the tile belongs to (read from tile_id).",
    },
    "feature_sets": {
        "feature_set_id": "The feature set's number.",
        "name": "The feature set's unique name (asmdb featurize / ingest features --name).",
        "n_features": "Length of every vector of the set.",
        "feature_names": "The name of each feature, in vector order.",
        "tile_half_size": "Half the side of a tile, in degrees.",
        "created_at": "When the feature set was made.",
        "grid_id": "The grid of the set's tiles.",
        "provenance": "How the vectors were made (imagery, bands, model, seed), as JSON.",
        "source": "Where the vectors came from (a features file, or imagery featurized).",
        "period_start": "First day of the imagery's period (NULL: unknown).",
        "period_end": "Last day of the imagery's period (NULL: unknown).",
        "complete": "False while featurizing is still writing vectors; such a set is not used.",
    },
    "tile_features": {
        "feature_set_id": "The feature set of the vector.",
        "tile_id": "The tile of the vector.",
        "features": "n_features little-endian IEEE-754 float32 values "
        "(asmdb.feature_array reads them).",
        "grid_id": "The tile's grid (read from tile_id), the feature set's own.",
    },
    "model_runs": {
        "run_id": "The run's number.",
        "created_at": "When the run was trained.",
        "feature_set_id": "The feature set the model was trained on.",
        "parameters": "The run's options (label filters, model, protocol, seed), as JSON.",
        "metrics": "Cross-validated metrics (ROC AUC, accuracy, ...), as JSON.",
        "counts": "Labels and tiles used and dropped, as JSON.",
        "model": "The fitted model, in model_format.",
        "model_format": "How model is serialised.",
        "library_versions": "Versions of the libraries the model was fitted with, as JSON.",
        "protocol": "The training protocol (the seed's, or another).",
        "model_name": "The kind of model (logistic regression, forest, ...).",
        "data_fingerprint": "Digest of the training rows: equal runs trained on equal data.",
        "code_version": "The asmdb version that trained the run.",
        "feature_importance": "Importance of each feature, in the feature set's order.",
        "importance_method": "How feature_importance was measured.",
        "area_estimate": "Mining area estimated from the run's reviewed sample "
        "(asmdb review area), as JSON.",
    },
    "run_evaluations": {
        "run_id": "The run evaluated.",
        "label_id": "The label of the evaluated row.",
        "tile_id": "The tile the label is on.",
        "fold": "The cross-validation fold that held the row out.",
        "label": "The label's value: 1 mining, 0 not.",
        "score": "The model's raw score out of fold.",
        "raw_probability": "The model's probability out of fold, before calibration.",
        "probability": "The calibrated probability out of fold.",
    },
    "maps": {
        "map_id": "The map's number.",
        "run_id": "The run whose model made the map.",
        "feature_set_id": "The feature set the model was applied to (its period is the map's).",
        "created_at": "When the map was written.",
        "promoted_at": "When the map was last promoted (NULL: never shown).",
        "tiles": "Number of tiles in the map.",
        "counts": "Tiles per probability class, as JSON.",
    },
    "predictions": {
        "map_id": "The map of the prediction.",
        "run_id": "The run whose model made the map.",
        "tile_id": "The tile predicted.",
        "score": "The model's raw score.",
        "probability": "The calibrated probability of mining, 0 to 1.",
        "geom": "The tile's outline.",
    },
    "changes": {
        "change_id": "The change map's number.",
        "from_map": "The earlier map.",
        "to_map": "The later map.",
        "threshold": "Probability at and above which a tile counts as mining.",
        "min_delta": "Smallest change of probability that counts as new or gone.",
        "created_at": "When the change map was made.",
        "classes": "Tiles and area per change class, as JSON.",
        "zones": "Tiles and area per class within each zone, as JSON (NULL: no zones).",
        "area_estimate": "Area of change estimated from the reviewed change sample, as JSON.",
    },
    "change_tiles": {
        "change_id": "The change map of the row.",
        "tile_id": "The tile.",
        "p_from": "Probability in the earlier map.",
        "p_to": "Probability in the later map.",
        "delta": "p_to minus p_from.",
        "class": "new, gone, persistent, absent or no_data.",
        "area_km2": "The tile's area on the ellipsoid, km2.",
        "geom": "The tile's outline.",
    },
    "map_overviews": {
        "overview_id": "The block's number.",
        "map_id": "The map aggregated.",
        "cells": "Side of the block, in grid cells.",
        "tiles": "Predicted tiles in the block.",
        "tiles_at_least_half": "Tiles in the block with probability 0.5 or more.",
        "probability": "Highest tile probability in the block.",
        "probability_mean": "Mean tile probability in the block.",
        "geom": "The block's outline.",
    },
    "grids": {
        "grid_id": "The grid's number (the top bits of its tiles' ids).",
        "cell_size": "Side of a cell, in degrees.",
        "origin_lon": "Longitude of the grid's origin corner.",
        "origin_lat": "Latitude of the grid's origin corner.",
        "srid": "The grid's coordinate system (4326).",
        "created_at": "When the grid was made.",
    },
    "review_queue": {
        "review_id": "The queue row's number.",
        "run_id": "The run whose map the tile was chosen from.",
        "tile_id": "The tile to review.",
        "stratum": "The probability class (or change class) the tile was drawn from.",
        "reason": "Why the tile is queued: hotspot, uncertain, stratified sample or change sample.",
        "probability": "The tile's probability in the map.",
        "inclusion_probability": "Chance the sample drew the tile (sample rows only).",
        "status": "pending, confirmed, rejected or unclear.",
        "reviewer": "Who answered.",
        "reviewed_at": "When the answer was given.",
        "notes": "The reviewer's notes.",
        "label_id": "The label the answer became, if any.",
        "geom": "The tile's outline.",
        "change_id": "The change map of a change sample row.",
        "answer_from": "A change sample row's answer for the earlier period.",
        "answer_to": "A change sample row's answer for the later period.",
    },
    "operation_locks": {"name": "The operation's name."},
    "qgis_projects": {
        "name": "The project's name.",
        "metadata": "QGIS's metadata of the project.",
        "content": "The project file (.qgz).",
    },
    "similarity_queries": {
        "query_id": "The query's number.",
        "created_at": "When the query ran.",
        "created_by": "The database role that ran it.",
        "feature_set_id": "The feature set searched.",
        "query_tiles": "The tiles whose vectors were searched for.",
        "source": "tiles (given) or confirmed (the confirmed reviews).",
        "top": "How many similar tiles were asked for.",
        "method": "How similarity was measured.",
    },
    "similar_tiles": {
        "similar_tile_id": "The row's number.",
        "query_id": "The query that found the tile.",
        "rank": "1 for the most similar tile.",
        "tile_id": "The tile found.",
        "similarity": "Similarity to the query tiles (higher: more alike).",
        "geom": "The tile's outline.",
    },
    "tile_feature_arrays": {
        "feature_set_id": "The feature set of the vector.",
        "tile_id": "The tile of the vector.",
        "features": "The vector as real[].",
    },
}

FUNCTIONS = {
    "float32_from_bits(bigint)": "One IEEE-754 float32 from its 32 bits (exact, NaN and "
    "infinities too).",
    "feature_array(bytea)": "A stored feature vector as real[].",
    "feature_value(bytea, integer)": "Value i (1-based) of a stored feature vector, reading "
    "only the bytes that hold it.",
    "feature_bytes(real[])": "real[] as a stored feature vector (little-endian float32).",
    "grid_tile_id(integer, double precision, double precision, double precision, "
    "double precision, double precision)": "The tile id of (lat, lon) on the grid given by "
    "its id, cell size and origin.",
    "grid_tile_id(integer, double precision, double precision)": "The tile id of (lat, lon) "
    "on grid `grid` of asmdb.grids.",
    "tile_id(double precision, double precision)": "The tile id of (lat, lon) on grid 1 "
    "(0.01 degree cells).",
}


def _statements(remove: bool) -> list[sql.Composed]:
    def text(comment: str) -> sql.Composable:
        return sql.SQL("NULL") if remove else sql.Literal(comment)

    out = []
    for kind, objects in (("TABLE", TABLES), ("VIEW", VIEWS)):
        for name, comment in objects.items():
            out.append(
                sql.SQL("COMMENT ON {} {}.{} IS {}").format(
                    sql.SQL(kind), sql.Identifier(SCHEMA), sql.Identifier(name), text(comment)
                )
            )
    for table, columns in COLUMNS.items():
        for column, comment in columns.items():
            out.append(
                sql.SQL("COMMENT ON COLUMN {}.{}.{} IS {}").format(
                    sql.Identifier(SCHEMA),
                    sql.Identifier(table),
                    sql.Identifier(column),
                    text(comment),
                )
            )
    for signature, comment in FUNCTIONS.items():
        name, _, arguments = signature.partition("(")
        out.append(
            sql.SQL("COMMENT ON FUNCTION {}.{}({} IS {}").format(
                sql.Identifier(SCHEMA), sql.Identifier(name), sql.SQL(arguments), text(comment)
            )
        )
    return out


def _run(remove: bool) -> None:
    conn = op.get_bind()
    raw = conn.connection.driver_connection
    for statement in _statements(remove):
        op.execute(statement.as_string(raw))


def upgrade() -> None:
    _run(remove=False)


def downgrade() -> None:
    _run(remove=True)
