"""`asmdb-model/1`: a fitted model as plain parts, read back without unpickling anything.

What `model_runs.model` holds (its `model_format` says `asmdb-model/1`) is a zip archive of
uncompressed members, the layout of numpy's `.npz`:

- `header.json`: the format version, the model kind (`ridge`, `logistic`, `random-forest`,
  `gradient-boosting`), the estimator's class and parameters, the feature names, the
  calibrator's kind (`isotonic`, or `sigmoid` for Platt scaling) and settings, the library
  versions that wrote it, and for every array its dtype, shape and SHA-256;
- `header.sha256`: the SHA-256 of `header.json`;
- one `NAME.npy` per array: coefficients and intercepts, the scaler's mean and scale, the trees'
  node arrays (children, split feature, threshold, where missing values go, leaf values), the
  boosting baseline, and the calibrator's arrays: an isotonic one's X and y thresholds
  (`iso_x`, `iso_y`), or a sigmoid one's two parameters (`sigmoid`: a and b of
  1 / (1 + exp(a * score + b))). Rows written before sigmoid calibration existed are isotonic
  ones, read as they always were.

Reading checks the container (only these members, stored, no duplicates, and every byte the
one archive of them, so no byte can change unnoticed), both digests, each
array's dtype and shape against the kind's own list and the header's feature count, the trees'
structure (children within their tree and after their parent, so every walk ends at a leaf;
split features within the feature count) and the calibrator's thresholds, then scores with
numpy alone: the linear models as `X @ coef.T + intercept`, after the scaler for `logistic`;
the trees by walking their node arrays; the calibration by scipy's linear interpolation between
the thresholds, clipped, as IsotonicRegression does, or scipy's `expit(-(a * score + b))` as
scikit-learn's sigmoid calibration does. Arrays are read with
`numpy.lib.format.read_array(allow_pickle=False)`, so nothing in a row is ever executed, and
nothing depends on where asmdb's classes live. The arithmetic is scikit-learn's own, in the
same order, so a loaded model's scores equal the fitted model's bit for bit (the forest's to
rounding when scikit-learn sums its trees on several threads, in whatever order they finish).

Why plain arrays for the trees too, rather than `skops` or a signed pickle: a forest or a
boosted model is only node tables and leaf values, which the format holds and a few lines of
numpy walk, so reading needs no trusted-type list, no key and no scikit-learn internals, and a
row written by one scikit-learn version reads under another. The digests catch bytes changed by
accident or by hand; someone who can write `model_runs` could still write a consistent but
different model (as they could write different predictions), but never make asmdb run code.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from importlib import metadata

import numpy as np

from asm_db.errors import AsmdbError

FORMAT = "asmdb-model/1"
HEADER, HEADER_DIGEST = "header.json", "header.sha256"
KINDS = ("ridge", "logistic", "random-forest", "gradient-boosting")
MAX_HEADER_BYTES = 64 * 1024 * 1024  # feature names of the largest feature sets fit easily


class ModelFormatError(AsmdbError):
    """Stored model bytes that are not a well-formed, intact `asmdb-model/1` model."""


# --- the arrays of each kind: name -> (dtype or dtypes allowed, shape); shape entries that are
# strings name sizes read from the header or from other arrays.
_FLOAT = ("<f4", "<f8")
# The isotonic calibrator keeps its thresholds' precision, the scores' it was fitted on: it
# scores in it. The sigmoid calibrator's a and b are float64, as scikit-learn fits them.
CALIBRATOR_ARRAYS = {
    "isotonic": {"iso_x": (_FLOAT, ("thresholds",)), "iso_y": (_FLOAT, ("thresholds",))},
    "sigmoid": {"sigmoid": ("<f8", (2,))},
}
CALIBRATOR_KINDS = tuple(CALIBRATOR_ARRAYS)
# Linear coefficients keep their precision: scikit-learn fits float32 data in float32, and its
# decision function multiplies in the coefficients' precision.
_LINEAR = {
    "coef": (_FLOAT, (1, "n_features")),
    "intercept": (_FLOAT, (1,)),
    "classes": ("<i8", (2,)),
}
_TREES = {
    "tree_offsets": ("<i8", ("trees+1",)),
    "children_left": ("<i8", ("nodes",)),
    "children_right": ("<i8", ("nodes",)),
    "feature": ("<i8", ("nodes",)),
    "threshold": ("<f8", ("nodes",)),
    "missing_go_to_left": ("|b1", ("nodes",)),
}
# The model's own arrays; the calibrator's (`CALIBRATOR_ARRAYS`) follow them in the archive.
ARRAYS = {
    "ridge": {**_LINEAR},
    "logistic": {
        **_LINEAR,
        "scaler_mean": ("<f8", ("n_features",)),
        "scaler_scale": ("<f8", ("n_features",)),
    },
    "random-forest": {
        **_TREES,
        "value": ("<f8", ("nodes", 2)),  # per node, the class fractions scikit-learn keeps
        "classes": ("<i8", (2,)),
    },
    "gradient-boosting": {
        **_TREES,
        "value": ("<f8", ("nodes",)),  # per node, the raw prediction it adds (leaves count)
        "baseline": ("<f8", (1, 1)),
        "classes": ("<i8", (2,)),
    },
}


def expected_arrays(kind: str, calibrator_kind: str) -> dict:
    """The arrays of a model of `kind` calibrated by `calibrator_kind`, in archive order."""
    return {**ARRAYS[kind], **CALIBRATOR_ARRAYS[calibrator_kind]}


# --- writing --------------------------------------------------------------------------------


def _jsonable(value):
    """Estimator parameters as JSON (numbers, strings, lists); anything else by its repr."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def _final(classifier):
    return classifier[-1] if hasattr(classifier, "steps") else classifier


def model_kind(classifier) -> str:
    """Which of the four kinds a fitted scikit-learn classifier is."""
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression, RidgeClassifier
    from sklearn.preprocessing import StandardScaler

    if isinstance(classifier, RidgeClassifier):
        return "ridge"
    if (
        hasattr(classifier, "steps")
        and len(classifier.steps) == 2
        and isinstance(classifier[0], StandardScaler)
        and isinstance(classifier[1], LogisticRegression)
    ):
        return "logistic"
    if isinstance(classifier, RandomForestClassifier):
        return "random-forest"
    if isinstance(classifier, HistGradientBoostingClassifier):
        return "gradient-boosting"
    raise ModelFormatError(f"{type(classifier).__name__} is not one of the models asmdb stores")


def _float(values) -> np.ndarray:
    array = np.asarray(values)
    return array.astype("<f4" if array.dtype == np.float32 else "<f8")


def _dtype(allowed: str | tuple[str, ...], array: np.ndarray) -> str:
    """The stored dtype: the array's own when allowed, else the (first) allowed one."""
    allowed = (allowed,) if isinstance(allowed, str) else allowed
    return array.dtype.str if array.dtype.str in allowed else allowed[0]


def _binary_classes(classifier) -> np.ndarray:
    classes = np.asarray(_final(classifier).classes_)
    if classes.shape != (2,) or classes.dtype.kind not in "iub":
        raise ModelFormatError(f"asmdb stores binary classifiers of 0/1 labels, not {classes}")
    return classes.astype("<i8")


def _tree_arrays(nodes: list[dict]) -> dict[str, np.ndarray]:
    """One set of node arrays for many trees, children numbered within their own tree."""
    sizes = [len(n["children_left"]) for n in nodes]
    out = {"tree_offsets": np.concatenate([[0], np.cumsum(sizes)]).astype("<i8")}
    for name, (dtype, _) in _TREES.items():
        if name != "tree_offsets":
            out[name] = np.concatenate([n[name] for n in nodes]).astype(dtype)
    return out


def _forest_arrays(forest) -> dict[str, np.ndarray]:
    trees = []
    for estimator in forest.estimators_:
        t = estimator.tree_
        if t.n_outputs != 1 or t.value.shape[1:] != (1, 2):
            raise ModelFormatError("asmdb stores forests of single-output binary trees")
        trees.append(
            {
                "children_left": t.children_left,
                "children_right": t.children_right,
                "feature": t.feature,
                "threshold": t.threshold,
                "missing_go_to_left": t.missing_go_to_left.astype(bool),
                "value": t.value[:, 0, :],
            }
        )
    arrays = _tree_arrays(trees)
    arrays["value"] = np.concatenate([t["value"] for t in trees]).astype("<f8")
    return arrays


def _boosting_arrays(boosting) -> dict[str, np.ndarray]:
    if boosting.n_trees_per_iteration_ != 1:
        raise ModelFormatError("asmdb stores binary gradient boosting (one tree per iteration)")
    trees = []
    for (predictor,) in boosting._predictors:
        n = predictor.nodes
        if n["is_categorical"].any():
            raise ModelFormatError("asmdb does not store categorical splits")
        leaf = n["is_leaf"].astype(bool)
        trees.append(
            {
                "children_left": np.where(leaf, -1, n["left"].astype(np.int64)),
                "children_right": np.where(leaf, -1, n["right"].astype(np.int64)),
                "feature": np.where(leaf, -2, n["feature_idx"]),
                "threshold": np.where(leaf, -2.0, n["num_threshold"]),
                "missing_go_to_left": n["missing_go_to_left"].astype(bool),
                "value": n["value"],
            }
        )
    arrays = _tree_arrays(trees)
    arrays["value"] = np.concatenate([t["value"] for t in trees]).astype("<f8")
    arrays["baseline"] = np.asarray(boosting._baseline_prediction, dtype="<f8").reshape(1, 1)
    return arrays


def _calibrator_parts(calibrator) -> tuple[dict, dict[str, np.ndarray]]:
    """The header entry and arrays of a fitted isotonic or sigmoid calibrator."""
    if hasattr(calibrator, "X_thresholds_"):
        if calibrator.out_of_bounds != "clip":
            raise ModelFormatError("asmdb stores a fitted IsotonicRegression(out_of_bounds='clip')")
        header = {
            "kind": "isotonic",
            "out_of_bounds": "clip",
            "increasing": bool(calibrator.increasing_),
            "X_min": float(calibrator.X_min_),
            "X_max": float(calibrator.X_max_),
            "y_min": _jsonable(calibrator.y_min),
            "y_max": _jsonable(calibrator.y_max),
        }
        arrays = {
            "iso_x": _float(calibrator.X_thresholds_),
            "iso_y": _float(calibrator.y_thresholds_),
        }
        return header, arrays
    if hasattr(calibrator, "a_") and hasattr(calibrator, "b_"):
        ab = np.array([calibrator.a_, calibrator.b_], dtype="<f8")
        if not np.isfinite(ab).all():
            raise ModelFormatError("the sigmoid calibration's parameters are not finite")
        return {"kind": "sigmoid"}, {"sigmoid": ab}
    raise ModelFormatError(
        "asmdb stores a fitted IsotonicRegression(out_of_bounds='clip') or sigmoid calibration"
    )


def model_parts(model) -> tuple[dict, dict[str, np.ndarray]]:
    """The header and arrays of a fitted model (an object with `classifier`, an isotonic or
    sigmoid `calibrator` and `feature_names`, as `CalibratedClassifier`)."""
    classifier, calibrator = model.classifier, model.calibrator
    kind = model_kind(classifier)
    final = _final(classifier)
    n_features = int(final.n_features_in_)
    feature_names = [str(name) for name in (model.feature_names or [])]
    if feature_names and len(feature_names) != n_features:
        raise ModelFormatError(
            f"{len(feature_names)} feature names for a model of {n_features} features"
        )
    if kind in ("ridge", "logistic"):
        arrays = {
            "coef": _float(final.coef_).reshape(1, n_features),
            "intercept": _float(final.intercept_).reshape(1),
        }
        if kind == "logistic":
            scaler = classifier[0]
            if not (scaler.with_mean and scaler.with_std):
                raise ModelFormatError("asmdb stores a scaler that centres and scales")
            arrays["scaler_mean"] = np.asarray(scaler.mean_, dtype="<f8")
            arrays["scaler_scale"] = np.asarray(scaler.scale_, dtype="<f8")
    elif kind == "random-forest":
        arrays = _forest_arrays(classifier)
    else:
        arrays = _boosting_arrays(classifier)
    arrays["classes"] = _binary_classes(classifier)
    calibrator_header, calibrator_arrays = _calibrator_parts(calibrator)
    arrays.update(calibrator_arrays)
    estimator = {
        "class": f"{type(classifier).__module__}.{type(classifier).__qualname__}",
        "params": _jsonable(
            {k: v for k, v in classifier.get_params(deep=True).items() if k != "steps"}
            if kind == "logistic"
            else classifier.get_params()
        ),
    }
    header = {
        "format": FORMAT,
        "kind": kind,
        "n_features": n_features,
        "feature_names": feature_names,
        "estimator": estimator,
        "calibrator": calibrator_header,
        "library_versions": {
            name: metadata.version(name) for name in ("asmdb", "scikit-learn", "numpy", "scipy")
        },
    }
    return header, arrays


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def encode(model) -> bytes:
    """The `asmdb-model/1` bytes of a fitted model (see `model_parts`)."""
    header, arrays = model_parts(model)
    spec = expected_arrays(header["kind"], header["calibrator"]["kind"])
    dtypes = {name: _dtype(spec[name][0], arrays[name]) for name in spec}
    blobs = {name: _npy(arrays[name].astype(dtypes[name], copy=False)) for name in spec}
    header["arrays"] = {
        name: {
            "dtype": dtypes[name],
            "shape": list(arrays[name].shape),
            "sha256": hashlib.sha256(blob).hexdigest(),
        }
        for name, blob in blobs.items()
    }
    header_bytes = json.dumps(header, sort_keys=True).encode()
    members = {HEADER: header_bytes, HEADER_DIGEST: hashlib.sha256(header_bytes).hexdigest()}
    members.update({f"{name}.npy": blob for name, blob in blobs.items()})
    data = _archive(members)
    decode(data, FORMAT)  # what is written must read back
    return data


def _archive(members: dict[str, bytes | str]) -> bytes:
    """The one byte sequence of these members, in this order: stored, fixed dates, so reading
    can ask that a row be exactly the archive of what it holds."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, blob in members.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, blob)
    return buffer.getvalue()


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trees:
    """Many trees' nodes in one table, children numbered globally; leaves point nowhere."""

    roots: np.ndarray
    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_go_to_left: np.ndarray
    is_leaf: np.ndarray

    def leaves(self, X: np.ndarray) -> np.ndarray:
        """The leaf each row reaches in each tree, (rows, trees): every row walks every tree a
        level at a time, rows that reached a leaf dropping out. A split sends a row left when
        its value is at most the threshold, and a missing value (NaN) to the side the node
        says, as scikit-learn's trees do."""
        n, k = len(X), len(self.roots)
        out = np.empty(n * k, dtype=np.int64)
        node = np.tile(self.roots, n)
        row = np.repeat(np.arange(n), k)
        where = np.arange(n * k)
        while where.size:
            done = self.is_leaf[node]
            if done.any():
                out[where[done]] = node[done]
                keep = ~done
                node, row, where = node[keep], row[keep], where[keep]
                if not where.size:
                    break
            x = X[row, self.feature[node]]
            left = x <= self.threshold[node]
            missing = np.isnan(x)
            if missing.any():
                left = np.where(missing, self.missing_go_to_left[node], left)
            node = np.where(left, self.left[node], self.right[node])
        return out.reshape(n, k)


@dataclass(frozen=True)
class StoredModel:
    """A model read from `asmdb-model/1`: scores and calibrates as the model it was written
    from (`score(X)`, `probability(scores)`), from its arrays alone."""

    kind: str
    header: dict
    arrays: dict[str, np.ndarray]
    trees: Trees | None = None

    @property
    def feature_names(self) -> list[str]:
        return list(self.header["feature_names"])

    @property
    def n_features(self) -> int:
        return int(self.header["n_features"])

    @property
    def calibration(self) -> str:
        """ "isotonic" or "sigmoid"."""
        return self.header["calibrator"]["kind"]

    def score(self, X: np.ndarray) -> np.ndarray:
        """Uncalibrated score: decision function for linear models, P(mine) for the trees."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise AsmdbError(
                f"the model scores {self.n_features} features per row, not {X.shape[1:]}"
            )
        a = self.arrays
        if self.kind in ("ridge", "logistic"):
            if self.kind == "logistic":  # StandardScaler.transform, in the data's precision
                dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
                X = np.array(X, dtype=dtype)
                X -= a["scaler_mean"].astype(dtype)
                X /= a["scaler_scale"].astype(dtype)
            return (X @ a["coef"].T + a["intercept"]).reshape(-1)
        if self.kind == "random-forest":
            # The trees compare float32 features with float64 thresholds; the forest adds the
            # trees' class-1 fractions in order and divides by their number.
            leaves = self.trees.leaves(np.asarray(X, dtype=np.float32))
            values = a["value"][:, 1]
            total = np.zeros(len(X))
            for t in range(leaves.shape[1]):
                total += values[leaves[:, t]]
            total /= leaves.shape[1]
            return total
        # gradient boosting: baseline plus each tree's leaf value in order, then the sigmoid.
        from scipy.special import expit

        leaves = self.trees.leaves(np.asarray(X, dtype=np.float64))
        raw = np.zeros(len(X)) + a["baseline"][0, 0]
        for t in range(leaves.shape[1]):
            raw += a["value"][leaves[:, t]]
        return expit(raw)

    def probability(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated probability of a mine, from scores: isotonic (clipped to its range) or
        sigmoid, as the calibrator was fitted."""
        if self.calibration == "sigmoid":
            from scipy.special import expit

            # As scikit-learn's _SigmoidCalibration.predict, with a and b as float64 scalars.
            a, b = self.arrays["sigmoid"]
            return expit(-(a * np.asarray(scores).reshape(-1) + b))
        from scipy.interpolate import interp1d

        x, y = self.arrays["iso_x"], self.arrays["iso_y"]
        c = self.header["calibrator"]
        # As IsotonicRegression.predict: in the thresholds' precision, clipped to the range.
        T = np.asarray(scores, dtype=x.dtype).reshape(-1)
        T = np.clip(T, x.dtype.type(c["X_min"]), x.dtype.type(c["X_max"]))
        if len(y) == 1:
            return y.repeat(T.shape)
        return interp1d(x, y, kind="linear", bounds_error=False)(T).astype(T.dtype)


def _refuse(problem: str):
    raise ModelFormatError(problem)


def _read_members(data: bytes) -> dict[str, bytes]:
    if not isinstance(data, bytes | bytearray | memoryview):
        _refuse("no model bytes")
    data = bytes(data)
    if not data.startswith(b"PK\x03\x04"):
        what = "a pickle" if data[:1] == b"\x80" else "not an asmdb-model/1 archive"
        _refuse(f"the bytes are {what}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            _refuse("the archive names a member twice")
        for info in infos:
            if info.compress_type != zipfile.ZIP_STORED or info.file_size > len(data):
                _refuse(f"member {info.filename} is not stored plainly")
        return {i.filename: archive.read(i) for i in infos}  # checks each member's CRC
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        _refuse(f"the archive is damaged ({exc})")


def _read_header(members: dict[str, bytes], model_format: str) -> dict:
    if HEADER not in members or HEADER_DIGEST not in members:
        _refuse("the archive has no header")
    raw = members[HEADER]
    if len(raw) > MAX_HEADER_BYTES:
        _refuse("the header is too large")
    if hashlib.sha256(raw).hexdigest().encode() != members[HEADER_DIGEST]:
        _refuse("the header does not match its digest (changed after it was written)")
    try:
        header = json.loads(raw)
    except ValueError:
        _refuse("the header is not JSON")
    if not isinstance(header, dict):
        _refuse("the header is not a JSON object")
    if header.get("format") != FORMAT or model_format != FORMAT:
        _refuse(f"format {header.get('format')!r} stored as {model_format!r}; asmdb reads {FORMAT}")
    kind = header.get("kind")
    if kind not in KINDS:
        _refuse(f"unknown model kind {kind!r}")
    n = header.get("n_features")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        _refuse(f"n_features {n!r} is not a positive integer")
    names = header.get("feature_names")
    if not isinstance(names, list) or not all(isinstance(s, str) for s in names):
        _refuse("feature_names is not a list of names")
    if names and len(names) != n:
        _refuse(f"{len(names)} feature names for {n} features")
    c = header.get("calibrator")
    if not isinstance(c, dict) or c.get("kind") not in CALIBRATOR_KINDS:
        _refuse("the calibrator is neither isotonic nor sigmoid")
    if c["kind"] == "isotonic" and (
        c.get("out_of_bounds") != "clip"
        or not all(isinstance(c.get(k), float | int) for k in ("X_min", "X_max"))
        or not c["X_min"] <= c["X_max"]
    ):
        _refuse("the calibrator is not a clipped isotonic regression with a range")
    if c["kind"] == "sigmoid" and set(c) != {"kind"}:
        _refuse("the sigmoid calibrator's header holds more than its kind")
    spec = expected_arrays(kind, c["kind"])
    if not isinstance(header.get("arrays"), dict) or set(header["arrays"]) != set(spec):
        _refuse(
            f"the header lists arrays {sorted(header.get('arrays') or [])}, not a {kind}'s "
            f"with {c['kind']} calibration"
        )
    expected = {HEADER, HEADER_DIGEST} | {f"{name}.npy" for name in spec}
    if set(members) != expected:
        extra = sorted(set(members) ^ expected)
        _refuse(f"the archive's members differ from a {kind}'s: {', '.join(extra)}")
    return header


def _read_array(name: str, blob: bytes, listed: dict) -> np.ndarray:
    if not isinstance(listed, dict) or hashlib.sha256(blob).hexdigest() != listed.get("sha256"):
        _refuse(f"array {name} does not match its digest (changed after it was written)")
    try:
        array = np.lib.format.read_array(io.BytesIO(blob), allow_pickle=False)
    except ValueError as exc:
        _refuse(f"array {name} is not a plain numpy array ({exc})")
    return array


def _sizes(header: dict, arrays: dict[str, np.ndarray]) -> dict[str, int]:
    sizes = {"n_features": header["n_features"]}
    if "iso_x" in arrays:
        sizes["thresholds"] = len(arrays["iso_x"])
    if "tree_offsets" in arrays:
        sizes["trees+1"] = len(arrays["tree_offsets"])
        sizes["nodes"] = len(arrays["children_left"])
    return sizes


def _check_shapes(kind: str, header: dict, arrays: dict[str, np.ndarray]) -> None:
    sizes = _sizes(header, arrays)
    for name, (dtype, shape) in expected_arrays(kind, header["calibrator"]["kind"]).items():
        array = arrays[name]
        want = tuple(sizes[d] if isinstance(d, str) else d for d in shape)
        allowed = (dtype,) if isinstance(dtype, str) else dtype
        if array.dtype.str not in allowed or array.shape != want:
            _refuse(
                f"array {name} is {array.dtype.str} {array.shape}, "
                f"expected {' or '.join(allowed)} {want}"
            )
        if array.dtype.str != header["arrays"][name].get("dtype"):
            _refuse(f"array {name}'s dtype differs from the header's")
        if list(array.shape) != header["arrays"][name].get("shape"):
            _refuse(f"array {name}'s shape differs from the header's")
        if array.dtype.kind == "f" and name != "threshold" and not np.isfinite(array).all():
            _refuse(f"array {name} holds values that are not finite")
    if not np.array_equal(arrays["classes"], [0, 1]):
        _refuse(f"classes {arrays['classes'].tolist()} are not [0, 1]")
    if "iso_x" not in arrays:
        return  # a sigmoid's a and b: any finite pair is a calibration
    x = arrays["iso_x"]
    if len(x) == 0 or np.any(np.diff(x) <= 0):
        _refuse("the calibrator's X thresholds are not strictly increasing")
    if np.any((arrays["iso_y"] < 0) | (arrays["iso_y"] > 1)):
        _refuse("the calibrator's y thresholds are not probabilities")


def _check_trees(arrays: dict[str, np.ndarray], n_features: int) -> Trees:
    offsets = arrays["tree_offsets"]
    n_nodes = len(arrays["children_left"])
    sizes = np.diff(offsets)
    if offsets[0] != 0 or offsets[-1] != n_nodes or len(sizes) == 0 or np.any(sizes < 1):
        _refuse("tree_offsets do not divide the nodes into trees")
    tree_start = np.repeat(offsets[:-1], sizes)
    tree_end = np.repeat(offsets[1:], sizes)
    local = np.arange(n_nodes) - tree_start
    left, right = arrays["children_left"], arrays["children_right"]
    leaf = left == -1
    if np.any(leaf != (right == -1)):
        _refuse("a node has one child")
    inner = ~leaf
    # Children are numbered within their tree and after their parent: every walk ends.
    for child in (left, right):
        if np.any(inner & ((child <= local) | (child >= tree_end - tree_start))):
            _refuse("a node's child lies outside its tree or before it")
    feature = arrays["feature"]
    if np.any(inner & ((feature < 0) | (feature >= n_features))):
        _refuse(f"a split uses a feature outside 0..{n_features - 1}")
    if np.any(inner & np.isnan(arrays["threshold"])):
        _refuse("a split has no threshold")
    return Trees(
        roots=offsets[:-1].copy(),
        left=np.where(inner, left + tree_start, -1),
        right=np.where(inner, right + tree_start, -1),
        feature=np.where(inner, feature, 0),
        threshold=arrays["threshold"],
        missing_go_to_left=arrays["missing_go_to_left"],
        is_leaf=leaf,
    )


def decode(data: bytes, model_format: str) -> StoredModel:
    """The model in `asmdb-model/1` bytes, or `ModelFormatError` saying what is wrong."""
    members = _read_members(data)
    header = _read_header(members, model_format)
    kind = header["kind"]
    spec = expected_arrays(kind, header["calibrator"]["kind"])
    order = [HEADER, HEADER_DIGEST, *(f"{name}.npy" for name in spec)]
    if _archive({name: members[name] for name in order}) != bytes(data):
        _refuse("the bytes differ from the archive of what they hold (changed after writing)")
    arrays = {
        name: _read_array(name, members[f"{name}.npy"], header["arrays"][name]) for name in spec
    }
    _check_shapes(kind, header, arrays)
    trees = None
    if "tree_offsets" in arrays:
        trees = _check_trees(arrays, header["n_features"])
        if kind == "random-forest":
            v = arrays["value"]
            if np.any((v < 0) | (v > 1)):
                _refuse("a tree's class fractions are not fractions")
    for array in arrays.values():
        array.flags.writeable = False
    return StoredModel(kind, header, arrays, trees)
