"""Export targets: where a compiled pipeline can run besides the local runner.

A small registry in papermill's style (`papermill.engines`): a name → target mapping with one
obvious place to add a kind, filled with the built-in targets and then from the
``nb2pipe.export_targets`` entry-point group. Built-in targets are registered as
``"module:attribute"`` strings and imported on first use, so importing this package costs
nothing: it is also part of the runtime copied into step images (see `images.py`), where only
the standard library exists besides the step's own requirements.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from ..errors import Nb2PipeError

ENTRY_POINT_GROUP = "nb2pipe.export_targets"


class ExportTarget(Protocol):
    """Turns a pipeline and the image of each step into one file a cluster engine runs."""

    name: str
    description: str

    def export(self, pipeline: Any, images: dict[str, str]) -> str:
        """The exported file's text; `images` maps each step name to its image reference."""
        ...


class ExportTargets:
    """The registry: `get(name)` gives a target, `register` adds one."""

    def __init__(self) -> None:
        self._targets: dict[str, ExportTarget | str] = {}
        self._entry_points_loaded = False

    def register(self, name: str, target: ExportTarget | str) -> None:
        """Add `target` (an object, or a ``"module:attribute"`` path loaded on first use)."""
        self._targets[name] = target

    def register_entry_points(self) -> None:
        """Add the targets other packages declare under ``nb2pipe.export_targets``."""
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        from importlib.metadata import entry_points

        for entry in entry_points(group=ENTRY_POINT_GROUP):
            self._targets.setdefault(entry.name, entry.value)

    def names(self) -> list[str]:
        self.register_entry_points()
        return sorted(self._targets)

    def get(self, name: str) -> ExportTarget:
        self.register_entry_points()
        target = self._targets.get(name)
        if target is None:
            known = ", ".join(self.names())
            raise Nb2PipeError(f"unknown export target {name!r} (known: {known})")
        if isinstance(target, str):
            module, _, attribute = target.partition(":")
            target = getattr(importlib.import_module(module), attribute)()
            self._targets[name] = target
        return target


export_targets = ExportTargets()
export_targets.register("kfp", "nb2pipe.exports.kfp:KfpTarget")
export_targets.register("argo", "nb2pipe.exports.argo:ArgoTarget")
export_targets.register("airflow", "nb2pipe.exports.airflow:AirflowTarget")
export_targets.register(
    "airflow-kubernetes", "nb2pipe.exports.airflow_kubernetes:AirflowKubernetesTarget"
)
