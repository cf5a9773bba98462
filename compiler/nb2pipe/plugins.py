"""One registry shape for every kind of plugin: export targets, serializers, isolations (where a
step runs), observers, commands.

A `Registry` maps names to plugins in a defined order. A plugin is given as the object itself
or as a ``"module:attribute"`` string, imported the first time it is asked for, so importing
this module (and listing what is registered) costs nothing. Other packages add plugins through
an entry-point group, read once on first use — jupyter_mlops adds the MLflow observer and its
commands that way, so nb2pipe never imports it. Every kind lives in `KINDS`, declared once.

Standard library only: the artifact runtime that step kernels and images import uses it.
"""

from __future__ import annotations

import difflib
import functools
import importlib
from collections.abc import Iterator
from typing import Any

from .errors import Nb2PipeError


class Registry:
    def __init__(
        self,
        kind: str,
        group: str | None = None,
        builtins: dict[str, Any] = (),
        *,
        instantiate: bool = True,
    ):
        self.kind = kind
        self.group = group
        self.instantiate = instantiate  # False: a class is the plugin itself (isolations)
        self._plugins: dict[str, Any] = dict(builtins)
        self._entry_points_read = group is None

    def register(self, name: str, plugin: Any, *, before: str | None = None) -> None:
        """Add (or move) `plugin` under `name`: last, or in front of the one named `before`."""
        self._read_entry_points()
        items = [(n, p) for n, p in self._plugins.items() if n != name]
        names = [n for n, _ in items]
        if before is not None and before not in names:
            raise ValueError(f"no {self.kind} named {before!r}; known: {', '.join(names)}")
        at = names.index(before) if before is not None else len(items)
        items.insert(at, (name, plugin))
        self._plugins = dict(items)

    def names(self) -> list[str]:
        self._read_entry_points()
        return list(self._plugins)

    def get(self, name: str) -> Any:
        """The plugin called `name`, imported if need be; an `Nb2PipeError` naming the known."""
        self._read_entry_points()
        if name not in self._plugins:
            close = difflib.get_close_matches(name, self._plugins, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            known = ", ".join(sorted(self._plugins)) or "none"
            raise Nb2PipeError(f"unknown {self.kind} {name!r} ({hint}known: {known})")
        plugin = self._plugins[name]
        if isinstance(plugin, str):
            plugin = self._plugins[name] = _load(plugin, self.instantiate)
        return plugin

    def values(self) -> list[Any]:
        return [self.get(name) for name in self.names()]

    def copy(self) -> Registry:
        out = Registry(self.kind, None, self._plugins, instantiate=self.instantiate)
        out._entry_points_read = self._entry_points_read
        out.group = self.group
        return out

    # Read access like a dict, in order: `list(registry)`, `registry["json"]`, `"npy" in …`.
    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self.names()

    def __len__(self) -> int:
        return len(self.names())

    def _read_entry_points(self) -> None:
        if self._entry_points_read:
            return
        self._entry_points_read = True
        for entry in _installed_entry_points().select(group=self.group):
            self._plugins.setdefault(entry.name, entry.value)


@functools.cache
def _installed_entry_points():
    """Every installed distribution's entry points, read once per process: a reading opens
    the metadata of each of them (a few hundred files), whichever group is asked for."""
    from importlib.metadata import entry_points

    return entry_points()


def _load(path: str, instantiate: bool = True) -> Any:
    """``"package.module:Attribute"`` → the attribute; a class is instantiated if asked."""
    module, _, attribute = path.partition(":")
    value = getattr(importlib.import_module(module), attribute)
    return value() if instantiate and isinstance(value, type) else value


# Every kind of plugin, where it is looked up, and the built-in ones.
KINDS = {
    "export target": ("nb2pipe.export_targets", {
        "kfp": "nb2pipe.exports.kfp:KfpTarget",
        "argo": "nb2pipe.exports.argo:ArgoTarget",
        "airflow": "nb2pipe.exports.airflow:AirflowTarget",
        "airflow-kubernetes": "nb2pipe.exports.airflow_kubernetes:AirflowKubernetesTarget",
    }),
    # How values cross steps (nb2pipe/artifacts/serializers.py), tried in this order: a value
    # goes to the first one declared for a class of its MRO, else to the first general one.
    "serializer": ("nb2pipe.serializers", {
        "arrow": "nb2pipe.artifacts.frames:ArrowSerializer",
        "polars": "nb2pipe.artifacts.frames:PolarsSerializer",
        "npy": "nb2pipe.artifacts.arrays:NpySerializer",
        "sparse": "nb2pipe.artifacts.arrays:SparseSerializer",
        "image": "nb2pipe.artifacts.arrays:ImageSerializer",
        "xgboost-booster": "nb2pipe.artifacts.boosting:XGBoostBoosterSerializer",
        "xgboost-dmatrix": "nb2pipe.artifacts.boosting:XGBoostDMatrixSerializer",
        "lightgbm-booster": "nb2pipe.artifacts.boosting:LightGBMBoosterSerializer",
        "lightgbm-dataset": "nb2pipe.artifacts.boosting:LightGBMDatasetSerializer",
        "catboost": "nb2pipe.artifacts.boosting:CatBoostSerializer",
        "keras": "nb2pipe.artifacts.neural:KerasSerializer",
        "torch": "nb2pipe.artifacts.neural:TorchSerializer",
        "joblib": "nb2pipe.artifacts.general:JoblibSerializer",
        "statsmodels": "nb2pipe.artifacts.general:StatsmodelsSerializer",
        "json": "nb2pipe.artifacts.general:JsonSerializer",
        "pickle": "nb2pipe.artifacts.general:PickleSerializer",
    }),
    # Where a step runs (nb2pipe/runner/isolation.py): `--isolation NAME`, `--executor NAME[://…]`;
    # each an `Isolation` subclass, made per run.
    "isolation": ("nb2pipe.isolations", {
        "kernel": "nb2pipe.runner.isolation:WarmKernels",
        "process": "nb2pipe.runner.isolation:FreshKernels",
        "container": "nb2pipe.runner.container:Containers",
        "dask": "nb2pipe.runner.dask:DaskExecutor",
    }),
    "observer": ("nb2pipe.observers", {}),
    "command": ("nb2pipe.commands", {}),
}  # fmt: skip


CLASSES = {"isolation"}  # kinds whose plugins are classes, made by their user


def registry(kind: str) -> Registry:
    group, builtins = KINDS[kind]
    return Registry(kind, group, builtins, instantiate=kind not in CLASSES)
