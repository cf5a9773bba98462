"""Estimators, statistical results, JSON-able values, and anything else (cloudpickle)."""

from __future__ import annotations

import json
import pickle
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .serializers import Serializer, library


class JoblibSerializer(Serializer):
    """scikit-learn estimators and pipelines, and every estimator built on scikit-learn's base
    class (XGBClassifier, LGBMRegressor, ...: they pickle their boosters themselves)."""

    name, extension = "joblib", "joblib"
    types = ("sklearn.BaseEstimator",)
    subclasses = True  # pickled: a class travels by reference or (the notebook's) by value

    def accepts(self, value: Any) -> bool:
        return hasattr(value, "fit")

    def dump(self, value: Any, path: Path) -> dict[str, Any]:
        import joblib

        joblib.dump(value, path)
        package = type(value).__module__.partition(".")[0]  # xgboost for an XGBClassifier
        return library(package if package != "__main__" else "sklearn")

    def load(self, path: Path, entry: Mapping[str, Any]) -> Any:
        import joblib

        return joblib.load(path)


class StatsmodelsSerializer(Serializer):
    """statsmodels results (a fitted OLS, GLM, ARIMA, formula model...) with their own `save`,
    read with `statsmodels.api.load`: the model, its data and its formula come back, so
    `predict` on new rows and `summary()` work as before."""

    name, extension = "statsmodels", "pickle"
    types = ("statsmodels.ResultsWrapper", "statsmodels.Results")
    subclasses = True  # pickled: a class travels by reference or (the notebook's) by value

    def dump(self, value: Any, path: Path) -> dict[str, Any]:
        with open(path, "wb") as f:
            value.save(f)
        return library("statsmodels")

    def load(self, path: Path, entry: Mapping[str, Any]) -> Any:
        from statsmodels.iolib.smpickle import load_pickle

        return load_pickle(str(path))


def _plain_json(value: Any) -> bool:
    kind = type(value)
    if kind in (type(None), bool, int, float, str):
        return True
    if kind is list:
        return all(_plain_json(v) for v in value)
    if kind is dict:
        return all(type(k) is str and _plain_json(v) for k, v in value.items())
    return False


class JsonSerializer(Serializer):
    """None, bool, int, float, str, and lists and str-keyed dicts of them."""

    name, extension = "json", "json"
    inert = True

    def accepts(self, value: Any) -> bool:
        # Exact types and a round trip: tuples, int keys, enums, numpy scalars and NaN would
        # otherwise come back as something else.
        try:
            return _plain_json(value) and json.loads(json.dumps(value, allow_nan=False)) == value
        except (ValueError, RecursionError):
            return False

    def dump(self, value: Any, path: Path) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(value, f, ensure_ascii=False, allow_nan=False)

    def load(self, path: Path, entry: Mapping[str, Any]) -> Any:
        with open(path, encoding="utf-8") as f:
            return json.load(f)


def pickler_class():
    """cloudpickle's Pickler, storing a library's class by reference even when the module its
    `__module__` names is not imported yet.

    cloudpickle stores a class by value when `sys.modules` lacks that module: NumPy's `recarray`
    says `numpy.rec`, which `import numpy` does not import. A copy made by value is another
    class in the step that loads it, and the class's own `super()` calls then fail
    ("super(type, obj): obj must be an instance or subtype of type").
    """
    import importlib

    import cloudpickle

    class Pickler(cloudpickle.Pickler):
        def reducer_override(self, obj):
            if isinstance(obj, type):
                module = getattr(obj, "__module__", None)
                if isinstance(module, str) and module != "__main__" and module not in sys.modules:
                    try:
                        importlib.import_module(module)
                    except Exception:
                        pass  # not importable: cloudpickle stores the class by value, as before
            return super().reducer_override(obj)

    return Pickler


class PickleSerializer(Serializer):
    """Anything else, with cloudpickle (which also stores functions and classes by value)."""

    name, extension = "pickle", "pkl"

    def accepts(self, value: Any) -> bool:
        return True

    def dump(self, value: Any, path: Path) -> None:
        with open(path, "wb") as f:
            pickler_class()(f).dump(value)

    def load(self, path: Path, entry: Mapping[str, Any]) -> Any:
        with open(path, "rb") as f:
            return pickle.load(f)  # cloudpickle output is plain pickle
