"""Reading the joblib pickles that `model_runs.model` held before `asmdb-model/1`, for migration
0008 only, without letting the bytes run code of their choosing.

A pickle names the callables that rebuild it; an ordinary unpickler imports and calls whatever
it names, so bytes written into the table by anyone could run anything. This unpickler resolves
only the names in `ALLOWED`: the numpy, scikit-learn classes the four asmdb models are
made of, and asmdb's own model class under each path it was ever pickled from (mapped to a plain
holder, so moving that class again cannot break the migration). Any other name, an object
array (joblib pickles those in a nested, unrestricted pickle), or anything but a plain
`numpy.ndarray` is refused with `LegacyPickleRefused` before it is called. joblib writes each
array's bytes raw after a small wrapper object; `_ArrayWrapper` reads them as joblib does, with
numpy's `frombuffer`, never through pickle.
"""

from __future__ import annotations

import io
import pickle

import numpy as np

# The model class, under every path asmdb ever pickled it from (see `git log -p` of the
# registry's MODEL_FORMAT: joblib:asm_db.model.CalibratedRidge, then
# joblib:asm_db.model.CalibratedClassifier, then
# joblib:asm_db.modeling.protocols.CalibratedClassifier).
MODEL_CLASS_PATHS = {
    ("asm_db.model", "CalibratedRidge"),
    ("asm_db.model", "CalibratedClassifier"),
    ("asm_db.modeling.protocols", "CalibratedClassifier"),
    ("asm_db.modeling.protocols", "CalibratedRidge"),
}
LEGACY_FORMATS = {f"joblib:{module}.{name}" for module, name in MODEL_CLASS_PATHS}

# Every name the four models' pickles use (found by loading joblib pickles of each kind, written
# by scikit-learn 1.9 and numpy 2, with this unpickler logging the names; numpy 1.x wrote
# numpy.core for numpy._core). Each is a class or numpy's own array, scalar or random-state
# reconstructor: building one runs that library's constructor and __setstate__, nothing else.
ALLOWED = {
    ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),  # the same, pickled by numpy 1.x
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.random._pcg64", "PCG64"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random.bit_generator", "SeedSequence"),
    ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
    ("sklearn._loss._loss", "CyHalfBinomialLoss"),
    ("sklearn._loss.link", "Interval"),
    ("sklearn._loss.link", "LogitLink"),
    ("sklearn._loss.loss", "HalfBinomialLoss"),
    ("sklearn.ensemble._forest", "RandomForestClassifier"),
    ("sklearn.ensemble._hist_gradient_boosting.binning", "_BinMapper"),
    (
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting",
        "HistGradientBoostingClassifier",
    ),
    ("sklearn.ensemble._hist_gradient_boosting.predictor", "TreePredictor"),
    ("sklearn.isotonic", "IsotonicRegression"),
    # Sigmoid calibration: never written by asmdb before asmdb-model/1, but a database taken
    # down past 0008 with sigmoid runs holds it, and must come back up.
    ("sklearn.calibration", "_SigmoidCalibration"),
    ("sklearn.linear_model._logistic", "LogisticRegression"),
    ("sklearn.linear_model._ridge", "RidgeClassifier"),
    ("sklearn.pipeline", "Pipeline"),
    ("sklearn.preprocessing._data", "StandardScaler"),
    ("sklearn.preprocessing._label", "LabelBinarizer"),
    ("sklearn.preprocessing._label", "LabelEncoder"),
    ("sklearn.tree._classes", "DecisionTreeClassifier"),
    ("sklearn.tree._tree", "Tree"),
}


class LegacyPickleRefused(Exception):
    """The bytes name something outside the allowlist, or are not a joblib model pickle."""


class LegacyModel:
    """What an old pickle of asmdb's model class held: the fitted classifier, its (isotonic, or
    after a downgrade sigmoid) calibrator and the feature names (set by the pickle's BUILD, as a dataclass's state)."""

    classifier: object = None
    calibrator: object = None
    feature_names: list = []


class _ArrayWrapper:
    """Stands for joblib's NumpyArrayWrapper: says the dtype and shape of the raw bytes that
    follow it in the stream."""

    def read(self, stream) -> np.ndarray:
        subclass = getattr(self, "subclass", None)
        dtype, shape, order = getattr(self, "dtype", None), getattr(self, "shape", None), None
        order = getattr(self, "order", "C")
        if subclass is not np.ndarray or not isinstance(dtype, np.dtype):
            raise LegacyPickleRefused(f"an array of {subclass!r} / {dtype!r} is not allowed")
        if dtype.hasobject:
            raise LegacyPickleRefused("an array of Python objects is not allowed")
        if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise LegacyPickleRefused(f"array shape {shape!r} is not a shape")
        if getattr(self, "numpy_array_alignment_bytes", None) is not None:
            padding = stream.read(1)
            if len(padding) != 1:
                raise LegacyPickleRefused("the pickle ends inside an array")
            stream.read(padding[0])
        count = int(np.prod(shape, dtype=np.int64))
        data = stream.read(count * dtype.itemsize)
        if len(data) != count * dtype.itemsize:
            raise LegacyPickleRefused("the pickle ends inside an array")
        array = np.frombuffer(data, dtype=dtype, count=count).copy()
        if order == "F":
            return array.reshape(shape[::-1]).transpose()
        return array.reshape(shape)


class _Unpickler(pickle._Unpickler):
    """Python's own unpickler with `find_class` restricted and joblib's array frames read."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self.stream = stream

    def find_class(self, module: str, name: str):
        if (module, name) in MODEL_CLASS_PATHS:
            return LegacyModel
        if (module, name) == ("joblib.numpy_pickle", "NumpyArrayWrapper"):
            return _ArrayWrapper
        if (module, name) not in ALLOWED:
            raise LegacyPickleRefused(f"it names {module}.{name}, which a model pickle never does")
        return super().find_class(module, name)

    def load_build(self) -> None:
        super().load_build()
        if isinstance(self.stack[-1], _ArrayWrapper):
            self.stack.append(self.stack.pop().read(self.stream))

    dispatch[pickle.BUILD[0]] = load_build

    # Persistent ids and extension codes load objects by side channels: a model never has any.
    def persistent_load(self, pid):
        raise LegacyPickleRefused("it holds a persistent id")

    def get_extension(self, code):
        raise LegacyPickleRefused("it uses the copyreg extension registry")

    dispatch[pickle.EXT1[0]] = lambda self: self.get_extension(None)
    dispatch[pickle.EXT2[0]] = lambda self: self.get_extension(None)
    dispatch[pickle.EXT4[0]] = lambda self: self.get_extension(None)


def load_legacy_model(data: bytes) -> LegacyModel:
    """The classifier, calibrator and feature names in an old joblib pickle of asmdb's model,
    or `LegacyPickleRefused` saying why not."""
    stream = io.BytesIO(data)
    try:
        model = _Unpickler(stream).load()
    except LegacyPickleRefused:
        raise
    except Exception as exc:  # truncated or malformed bytes, or a constructor refusing its state
        raise LegacyPickleRefused(f"it is not a readable model pickle ({exc})") from None
    if not isinstance(model, LegacyModel):
        raise LegacyPickleRefused(f"it holds a {type(model).__name__}, not asmdb's model")
    return model


# --- back to a pickle, for migration 0008's downgrade -----------------------------------------


def _params(estimator, params: dict) -> None:
    """Set the stored parameters the estimator has (JSON kept them as plain values)."""
    own = estimator.get_params()
    estimator.set_params(**{k: v for k, v in params.items() if k in own and "__" not in k})


def _calibrator(stored):
    """The scikit-learn calibrator the stored one was written from."""
    if stored.calibration == "sigmoid":
        from sklearn.calibration import _SigmoidCalibration

        sigmoid = _SigmoidCalibration()
        sigmoid.a_, sigmoid.b_ = (np.float64(v) for v in stored.arrays["sigmoid"])
        return sigmoid
    from sklearn.isotonic import IsotonicRegression

    c, a = stored.header["calibrator"], stored.arrays
    iso = IsotonicRegression(out_of_bounds="clip", y_min=c["y_min"], y_max=c["y_max"])
    x, y = np.array(a["iso_x"]), np.array(a["iso_y"])
    iso.X_thresholds_, iso.y_thresholds_ = x, y
    iso.X_min_, iso.X_max_ = x.dtype.type(c["X_min"]), x.dtype.type(c["X_max"])
    iso.increasing_ = c["increasing"]
    iso._build_f(x, y)
    return iso


def _linear(stored):
    from sklearn.linear_model import LogisticRegression, RidgeClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import LabelBinarizer, StandardScaler

    a, n = stored.arrays, stored.n_features
    params = stored.header["estimator"]["params"]
    if stored.kind == "ridge":
        final = RidgeClassifier()
        _params(final, params)
        final._label_binarizer = LabelBinarizer(pos_label=1, neg_label=-1).fit(a["classes"])
        model = final
    else:
        scaler, final = StandardScaler(), LogisticRegression()
        for prefix, step in (("standardscaler__", scaler), ("logisticregression__", final)):
            _params(step, {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)})
        scaler.mean_, scaler.scale_ = np.array(a["scaler_mean"]), np.array(a["scaler_scale"])
        scaler.var_ = scaler.scale_**2
        scaler.n_features_in_ = n
        model = make_pipeline(scaler, final)
    final.classes_ = np.array(a["classes"])
    final.coef_, final.intercept_ = np.array(a["coef"]), np.array(a["intercept"])
    final.n_features_in_ = n
    return model


def _forest(stored):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.tree import DecisionTreeClassifier
    from sklearn.tree._tree import NODE_DTYPE, Tree

    a, n = stored.arrays, stored.n_features
    forest = RandomForestClassifier()
    _params(forest, stored.header["estimator"]["params"])
    offsets = a["tree_offsets"]
    trees = []
    for start, end in zip(offsets[:-1], offsets[1:], strict=True):
        nodes = np.zeros(end - start, dtype=NODE_DTYPE)
        nodes["left_child"] = a["children_left"][start:end]
        nodes["right_child"] = a["children_right"][start:end]
        nodes["feature"] = a["feature"][start:end]
        nodes["threshold"] = a["threshold"][start:end]
        nodes["missing_go_to_left"] = a["missing_go_to_left"][start:end]
        depth = np.zeros(end - start, dtype=np.int64)
        for i in range(end - start):  # children come after their parent
            for child in (nodes["left_child"][i], nodes["right_child"][i]):
                if child > 0:
                    depth[child] = depth[i] + 1
        tree = Tree(n, np.array([2], dtype=np.intp), 1)
        tree.__setstate__(
            {
                "max_depth": int(depth.max()),
                "node_count": int(end - start),
                "nodes": nodes,
                "values": np.ascontiguousarray(a["value"][start:end].reshape(-1, 1, 2)),
            }
        )
        estimator = DecisionTreeClassifier(max_features=forest.max_features)
        estimator.tree_ = tree
        estimator.n_features_in_, estimator.n_outputs_, estimator.n_classes_ = n, 1, 2
        estimator.classes_ = np.array(a["classes"])
        estimator.max_features_ = max(1, int(np.sqrt(n)))
        trees.append(estimator)
    forest.estimators_ = trees
    forest.estimator_ = DecisionTreeClassifier()
    forest.n_features_in_, forest.n_outputs_, forest.n_classes_ = n, 1, 2
    forest.classes_ = np.array(a["classes"])
    return forest


def _boosting(stored):
    from sklearn._loss.loss import HalfBinomialLoss
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.ensemble._hist_gradient_boosting.binning import _BinMapper
    from sklearn.ensemble._hist_gradient_boosting.common import (
        PREDICTOR_RECORD_DTYPE,
        X_BITSET_INNER_DTYPE,
    )
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

    a, n = stored.arrays, stored.n_features
    boosting = HistGradientBoostingClassifier()
    _params(boosting, stored.header["estimator"]["params"])
    offsets = a["tree_offsets"]
    predictors = []
    for start, end in zip(offsets[:-1], offsets[1:], strict=True):
        nodes = np.zeros(end - start, dtype=PREDICTOR_RECORD_DTYPE)
        leaf = a["children_left"][start:end] == -1
        nodes["value"] = a["value"][start:end]
        nodes["is_leaf"] = leaf
        nodes["left"] = np.where(leaf, 0, a["children_left"][start:end])
        nodes["right"] = np.where(leaf, 0, a["children_right"][start:end])
        nodes["feature_idx"] = np.where(leaf, 0, a["feature"][start:end])
        nodes["num_threshold"] = np.where(leaf, 0.0, a["threshold"][start:end])
        nodes["missing_go_to_left"] = a["missing_go_to_left"][start:end]
        no_bitsets = np.zeros((0, 8), dtype=X_BITSET_INNER_DTYPE)
        predictors.append([TreePredictor(nodes, no_bitsets, no_bitsets.copy())])
    mapper = _BinMapper()
    mapper.is_categorical_ = np.zeros(n, dtype=np.uint8)
    mapper.bin_thresholds_ = [np.zeros(0) for _ in range(n)]
    mapper.missing_values_bin_idx_ = mapper.n_bins - 1
    boosting._bin_mapper, boosting._predictors = mapper, predictors
    boosting._preprocessor, boosting.is_categorical_ = None, None
    boosting._baseline_prediction = np.array(a["baseline"])
    boosting._loss = HalfBinomialLoss()
    boosting.n_trees_per_iteration_ = 1
    boosting.n_features_in_, boosting.classes_ = n, np.array(a["classes"])
    return boosting


def to_sklearn(stored):
    """scikit-learn's own classifier and calibrator, rebuilt from a stored model's arrays."""
    if stored.kind in ("ridge", "logistic"):
        return _linear(stored), _calibrator(stored)
    if stored.kind == "random-forest":
        return _forest(stored), _calibrator(stored)
    return _boosting(stored), _calibrator(stored)


def dump_legacy_model(stored) -> bytes:
    """The joblib pickle of `CalibratedClassifier` that asmdb wrote before `asmdb-model/1`."""
    import joblib

    from asm_db.modeling.protocols import CalibratedClassifier

    classifier, calibrator = to_sklearn(stored)
    buffer = io.BytesIO()
    joblib.dump(CalibratedClassifier(classifier, calibrator, stored.feature_names), buffer)
    return buffer.getvalue()
