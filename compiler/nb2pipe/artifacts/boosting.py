"""Gradient-boosting objects between steps, in each library's own format: XGBoost boosters
(UBJSON) and DMatrix (its binary buffer), LightGBM boosters (model text) and datasets, CatBoost
models (.cbm).

These hold C++ objects behind ctypes pointers, which pickle cannot store; scikit-learn wrappers
(XGBClassifier, LGBMRegressor) pickle themselves and go to joblib with other estimators.
"""

from __future__ import annotations

import copy
import importlib
import json
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .serializers import Serializer, library


def _json_fields(**fields: Any) -> dict[str, Any]:
    """`fields` for a manifest entry; a ValueError (so the next format is tried) if one of them
    would not come back equal from JSON."""
    try:
        if json.loads(json.dumps(fields)) == fields:
            return fields
    except (TypeError, ValueError):
        pass
    raise ValueError(f"cannot record {', '.join(fields)} as JSON")


class XGBoostBoosterSerializer(Serializer):
    """`xgboost.Booster` with `save_raw("ubj")`: trees, feature names and types, and the
    attributes early stopping sets (best_iteration, best_score)."""

    name, extension = "xgboost-booster", "ubj"
    types = ("xgboost.Booster",)

    def dump(self, value: Any, path: Path) -> dict[str, Any]:
        path.write_bytes(value.save_raw(raw_format="ubj"))
        return library("xgboost")

    def load(self, path: Path, entry: Mapping[str, Any]) -> Any:
        import xgboost

        return xgboost.Booster(model_file=bytearray(path.read_bytes()))


class XGBoostDMatrixSerializer(Serializer):
    """`xgboost.DMatrix` with `save_binary`: the data, labels, weights, base margins, groups,
    feature names and types, written by XGBoost straight from its own memory. (A QuantileDMatrix
    keeps only histogram cuts: XGBoost refuses to save it, and says so.)"""

    name, extension = "xgboost-dmatrix", "buffer"
    types = ("xgboost.DMatrix",)
    inert = True

    def dump(self, value: Any, path: Path) -> dict[str, Any]:
        value.save_binary(str(path), silent=True)
        return library("xgboost")

    def load(self, path: Path, entry: Mapping[str, Any]) -> Any:
        import xgboost

        return xgboost.DMatrix(str(path), silent=True)


class LightGBMBoosterSerializer(Serializer):
    """`lightgbm.Booster` with `save_model` (every iteration, not only the best), and the best
    iteration and scores that its `predict` uses by default."""

    name, extension = "lightgbm-booster", "txt"
    types = ("lightgbm.Booster",)

    def dump(self, value: Any, path: Path) -> dict[str, Any]:
        scores = {data: {k: float(v) for k, v in m.items()} for data, m in value.best_score.items()}
        fields = _json_fields(best_iteration=int(value.best_iteration), best_score=scores)
        value.save_model(str(path), num_iteration=-1)
        return {**fields, **library("lightgbm")}

    def load(self, path: Path, entry: Mapping[str, Any]) -> Any:
        import collections

        import lightgbm

        booster = lightgbm.Booster(model_file=str(path))
        booster.best_iteration = entry.get("best_iteration", booster.best_iteration)
        best = collections.defaultdict(collections.OrderedDict)
        for data, metrics in (entry.get("best_score") or {}).items():
            best[data].update(metrics)
        booster.best_score = best
        return booster


class LightGBMDatasetSerializer(Serializer):
    """`lightgbm.Dataset`. One that still holds its raw data (not yet constructed, or made with
    `free_raw_data=False`) is stored as that data with its parameters and built again the same
    way when read, so a later `lgb.train` with other binning parameters can rebuild it as in
    Run All. One whose raw data LightGBM freed is stored with `save_binary`."""

    name, extension = "lightgbm-dataset", "lgbdata"

    types = ("lightgbm.Dataset",)

    def dump(self, value: Any, path: Path) -> dict[str, Any]:
        constructed = _handle(value) is not None
        if value.data is not None:
            import cloudpickle

            with open(path, "wb") as f:
                cloudpickle.dump(_unconstructed(value), f)
            return {"form": "raw", "constructed": constructed, **library("lightgbm")}
        fields = _json_fields(
            params=value.params or {}, pandas_categorical=value.pandas_categorical
        )
        value.save_binary(str(path))
        return {"form": "binary", **fields, **library("lightgbm")}

    def load(self, path: Path, entry: Mapping[str, Any]) -> Any:
        import lightgbm

        if entry.get("form") == "raw":
            with open(path, "rb") as f:
                dataset = pickle.load(f)
            return dataset.construct() if entry.get("constructed") else dataset
        dataset = lightgbm.Dataset(str(path), params=entry.get("params") or None)
        dataset.construct()  # now: the value must not need the artifact file later
        dataset.pandas_categorical = entry.get("pandas_categorical")
        return dataset


def _handle(dataset: Any) -> Any:
    return getattr(dataset, "_handle", getattr(dataset, "handle", None))


def _unconstructed(dataset: Any) -> Any:
    """A copy of `dataset` (and of the dataset it refers to) without LightGBM's C++ handle."""
    clone = copy.copy(dataset)
    for attribute in ("_handle", "handle"):
        if hasattr(clone, attribute):
            setattr(clone, attribute, None)
    if clone.reference is not None:
        clone.reference = _unconstructed(clone.reference)
    return clone


class CatBoostSerializer(Serializer):
    """CatBoost models (classifier, regressor, ranker) with `save_model` in CatBoost's binary
    format; the class and the parameters given to it are recorded so that `predict` and a
    later `fit` behave as before."""

    name, extension = "catboost", "cbm"
    types = ("catboost.CatBoost",)

    def accepts(self, value: Any) -> bool:
        # Fitted, and one of CatBoost's own classes, which the reader imports by name (a
        # notebook's subclass travels by value with cloudpickle instead).
        return value.is_fitted() and type(value).__module__.partition(".")[0] == "catboost"

    def dump(self, value: Any, path: Path) -> dict[str, Any]:
        params = {}
        for key, param in value.get_params().items():
            try:
                params.update(_json_fields(**{key: param}))
            except ValueError:
                pass  # a Python object as parameter (a custom metric): not needed to predict
        value.save_model(str(path), format="cbm")
        cls = type(value)
        return {"class": f"{cls.__module__}:{cls.__qualname__}", "params": params,
                **library("catboost")}  # fmt: skip

    def load(self, path: Path, entry: Mapping[str, Any]) -> Any:
        module, _, name = entry["class"].partition(":")
        if module.partition(".")[0] != "catboost":  # a hand-edited manifest imports nothing else
            raise ValueError(f"not a CatBoost class: {entry['class']!r}")
        model = getattr(importlib.import_module(module), name)()
        model.load_model(str(path), format="cbm")
        # load_model keeps only what the trees need (no cat_features): the parameters the model
        # was made with come back as CatBoost's own unpickling brings them back (set_params
        # refuses a fitted model).
        model._init_params.update(entry.get("params") or {})
        return model
