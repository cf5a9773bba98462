"""jupyter-mlops: tracking, registry, validation and the Jupyter surfaces of nb2pipe.

Importing the package, and ``%load_ext jupyter_mlops``, never imports mlflow: the API imports
it when it first needs to talk to the tracking store.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jupyter_mlops.data.drift import drift_report
    from jupyter_mlops.data.validation import validate
    from jupyter_mlops.registry.promote import promote
    from jupyter_mlops.registry.publish import publish_model
    from jupyter_mlops.retrain.step_gate import gate
    from jupyter_mlops.serving.monitoring import live_metric, record_feedback
    from jupyter_mlops.tracking.api import (
        end_run,
        flush,
        log_artifact,
        log_metrics,
        log_params,
        recent_runs,
        set_experiment,
        set_tracking_uri,
        start_run,
    )

# The public functions, imported on first use: every process that imports any module of this
# package (the CLI's tracker, the detached sync, the magics) runs this file first, and most of
# them need none of drift, validation, the gate or serving (~0.1 s of imports before a run).
_PUBLIC = {
    "drift_report": "jupyter_mlops.data.drift",
    "validate": "jupyter_mlops.data.validation",
    "promote": "jupyter_mlops.registry.promote",
    "publish_model": "jupyter_mlops.registry.publish",
    "gate": "jupyter_mlops.retrain.step_gate",
    "live_metric": "jupyter_mlops.serving.monitoring",
    "record_feedback": "jupyter_mlops.serving.monitoring",
    **dict.fromkeys(
        (
            "end_run",
            "flush",
            "log_artifact",
            "log_metrics",
            "log_params",
            "recent_runs",
            "set_experiment",
            "set_tracking_uri",
            "start_run",
        ),
        "jupyter_mlops.tracking.api",
    ),
}


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'jupyter_mlops' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups do not come back here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})


__version__ = "0.1.0"

__all__ = [
    "drift_report",
    "end_run",
    "flush",
    "gate",
    "live_metric",
    "load_ipython_extension",
    "log_artifact",
    "log_metrics",
    "log_params",
    "promote",
    "publish_model",
    "recent_runs",
    "record_feedback",
    "run",
    "set_experiment",
    "set_tracking_uri",
    "start_run",
    "sweep",
    "validate",
]


def run(notebook=None, *, force: bool = False, **params):
    """Run a notebook's pipeline from a cell, watched in a live ipywidgets view (`%mlops run`);
    by default the notebook this kernel runs. Returns the view (statuses, metrics, run id)."""
    from jupyter_mlops.widgets.live_run import run as run_live

    return run_live(notebook, force=force, **params)


def sweep(notebook=None, space=None, **options):
    """Run a sweep of a notebook's pipeline from a cell, watched live (`%mlops sweep`): `space`
    maps parameters to their values (a list, "0.1,1,10" or "0.001..10:log"); `options` are
    mode ("grid", "random", "optuna"), trials, metric, direction, seed, force."""
    from jupyter_mlops.widgets.live_sweep import sweep as sweep_live

    return sweep_live(notebook, space, **options)


def load_ipython_extension(ipython) -> None:
    """``%load_ext jupyter_mlops``: register the ``%mlops`` / ``%%mlops`` magics."""
    from jupyter_mlops.magics import MlopsMagics
    from nb2pipe import startup

    startup.defer()  # the magics compile and run notebooks in this kernel
    ipython.register_magics(MlopsMagics)


def _jupyter_server_extension_points() -> list[dict]:
    """Jupyter server: this package is a server extension (the sidebar's ``/mlops/`` routes)."""
    return [{"module": "jupyter_mlops"}]


def _load_jupyter_server_extension(server_app) -> None:
    """Register the ``/mlops/`` routes; importing them never imports mlflow."""
    from jupyter_mlops.server.readonly import protect_runs
    from jupyter_mlops.server.routes import setup_route_handlers

    setup_route_handlers(server_app.web_app)
    protect_runs(server_app)
    server_app.log.info("jupyter_mlops: /mlops/ routes registered")


def _jupyter_labextension_paths() -> list[dict]:
    """JupyterLab: where the prebuilt sidebar extension lives inside the package."""
    return [{"src": "labextension", "dest": "jupyter-mlops"}]
