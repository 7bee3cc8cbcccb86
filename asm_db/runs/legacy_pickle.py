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
    ("sklearn.ensemble._hist_gradient_boosting.gradient_boosting", "HistGradientBoostingClassifier"),
    ("sklearn.ensemble._hist_gradient_boosting.predictor", "TreePredictor"),
    ("sklearn.isotonic", "IsotonicRegression"),
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
    """What an old pickle of asmdb's model class held: the fitted classifier, its isotonic
    calibrator and the feature names (set by the pickle's BUILD, as a dataclass's state)."""

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
