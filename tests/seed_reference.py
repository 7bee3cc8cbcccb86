"""The seed notebook's in-memory pipeline, step for step, as the reference asmdb must match.

Used by the parity tests and by bench/ (which measures asmdb against it).
"""

from __future__ import annotations

import time
import warnings

import geopandas as gpd
import pandas as pd
from scipy.linalg import LinAlgWarning
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import RidgeClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, train_test_split


def seed_labels(path) -> gpd.GeoDataFrame:
    labels = pd.read_csv(path)
    labels = labels[
        [
            "lon",
            "lat",
            "unique_id",
            "country",
            "sample_type",
            "mine_type",
            "confidence",
            "label",
            "proportion_inspected",
        ]
    ]
    labels = labels.loc[(labels["proportion_inspected"] >= 0.2) | (labels["label"] == 1)]
    labels = labels.loc[labels["mine_type"] != "commercial"]
    labels = labels.loc[labels["confidence"] >= 3]
    labels = labels.reset_index(drop=True)
    return gpd.GeoDataFrame(
        labels, geometry=gpd.points_from_xy(labels.lon, labels.lat), crs="EPSG:4326"
    )


def seed_features(path) -> gpd.GeoDataFrame:
    features = pd.read_feather(path)
    features[["lat_part", "lon_part"]] = features["image_id"].str.split("__", expand=True)
    features["lat"] = (
        features["lat_part"].str.replace("lat_", "").str.replace("--", ".").astype(float)
    )
    features["lon"] = (
        features["lon_part"].str.replace("lon_", "").str.replace("--", ".").astype(float)
    )
    features = features.drop(["lat_part", "lon_part"], axis=1)
    features = gpd.GeoDataFrame(
        features, geometry=gpd.points_from_xy(features.lon, features.lat), crs="EPSG:4326"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # buffer in a geographic CRS, as the seed
        features.geometry = features.geometry.buffer(0.005, cap_style=3)
    return features


def seed_join(labels_gdf, features) -> gpd.GeoDataFrame:
    return gpd.sjoin(labels_gdf, features, how="inner", predicate="intersects")


def seed_train(joined, n_features: int) -> dict:
    feature_cols = [f"feature_{i}" for i in range(n_features)]
    X = joined[feature_cols].values
    y = joined["label"].values
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=1991)
    grid_search = GridSearchCV(
        RidgeClassifier(), {"alpha": [0.01, 0.1, 1.0, 10.0]}, cv=5, scoring="roc_auc", n_jobs=-1
    )
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", category=UserWarning, module="sklearn.linear_model._ridge"
        )
        warnings.filterwarnings("ignore", category=LinAlgWarning)
        grid_search.fit(X_train, y_train)
    y_pred_uncal = grid_search.decision_function(X_test)
    iso_reg = IsotonicRegression(out_of_bounds="clip")
    iso_reg.fit(y_pred_uncal, y_test)
    y_pred_cal = iso_reg.predict(y_pred_uncal)
    return {
        "grid_search": grid_search,
        "iso_reg": iso_reg,
        "best_alpha": grid_search.best_params_["alpha"],
        "auc_uncalibrated": roc_auc_score(y_test, y_pred_uncal),
        "auc_calibrated": roc_auc_score(y_test, y_pred_cal),
        "n_rows": len(y),
    }


def seed_predict(features, result: dict, n_features: int) -> pd.Series:
    feature_cols = [f"feature_{i}" for i in range(n_features)]
    y_pred_full = result["grid_search"].decision_function(features[feature_cols].values)
    features["predicted_probability"] = result["iso_reg"].predict(y_pred_full)
    return features["predicted_probability"]


def run_seed(labels_path, features_path, n_features: int) -> dict:
    """The whole notebook: load, filter, join, train, calibrate, predict every tile;
    `seconds` holds each step's wall time."""
    clock = [time.perf_counter()]

    def lap() -> float:
        clock.append(time.perf_counter())
        return clock[-1] - clock[-2]

    seconds = {}
    labels_gdf = seed_labels(labels_path)
    seconds["load labels"] = lap()
    features = seed_features(features_path)
    seconds["load features"] = lap()
    joined = seed_join(labels_gdf, features)
    seconds["sjoin"] = lap()
    result = seed_train(joined, n_features)
    seconds["train"] = lap()
    result["probability"] = seed_predict(features, result, n_features)
    seconds["predict"] = lap()
    result["image_id"] = features["image_id"]
    result["joined"] = joined
    result["seconds"] = seconds
    return result
