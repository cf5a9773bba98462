"""The sidebar's live status of a run: an observer of the runner's events, kept in memory.

The runner calls it from its scheduling thread; the status route reads `snapshot()` from the
server's threads, so every change and read holds the lock.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from jupyter_mlops.server.base import one_line, safe
from jupyter_mlops.server.paths import relative
from jupyter_mlops.tracking.datasets import TABLES  # the formats of tables
from jupyter_mlops.tracking.names import run_name

ACTIVE = ("starting", "running", "cancelling")


class LiveRun:
    """One run started here: an observer of its events, read by the status route."""

    def __init__(self, root: Path, notebook: Path):
        self.root = root
        self.notebook = notebook
        self.run_id: str | None = None
        self.name: str | None = None  # tracking.names: the notebook and the values it changed
        self.run_dir: Path | None = None
        self.status = "starting"
        self.steps: dict[str, dict[str, Any]] = {}
        self.metrics: dict[str, float] = {}
        self.params: dict[str, Any] = {}
        self.mlflow_run_id: str | None = None
        self.error: str | None = None
        self.start = time.time()
        self.end: float | None = None
        self.stop = threading.Event()
        self.started: Future = Future()  # the run id, once the run directory exists
        self._lock = threading.Lock()

    # Called from the scheduling thread only (see nb2pipe.runner.events).
    def __call__(self, event) -> None:
        from nb2pipe.runner import events as ev

        with self._lock:
            if event.kind == ev.RUN_STARTED:
                self.run_id = event.run_id
                self.run_dir = Path(event.data["run_dir"]).resolve()
                self.params = dict(event.data.get("params") or {})
                pipeline = event.data.get("pipeline")
                self.name = run_name(
                    self.notebook,
                    self.params,
                    {p.name: p.value for p in getattr(pipeline, "params", [])},
                )
                self.steps = {name: step_entry(name, "pending") for name in event.data["steps"]}
                if self.status == "starting":
                    self.status = "running"
            elif event.kind == ev.STEP_STARTED:
                self.steps[event.step] = step_entry(event.step, "running")
            elif event.kind == ev.RUN_FINISHED:
                result = event.data["result"]
                for name, step in result.steps.items():
                    self.steps[name] = self._finished_step(step)
                self.metrics = dict(result.metrics)
                if result.status == "cancelled":
                    for step in self.steps.values():
                        if step["status"] == "pending":
                            step["status"] = "cancelled"
            elif "result" in event.data:  # step cached / finished / failed / skipped
                self.steps[event.step] = self._finished_step(event.data["result"])
        if event.kind == ev.RUN_STARTED and not self.started.done():
            self.started.set_result(event.run_id)

    def _finished_step(self, result) -> dict[str, Any]:
        notebook = result.notebook if result.notebook and Path(result.notebook).exists() else None
        return {
            **step_entry(result.name, result.status),
            "duration": round(result.duration, 3),
            "error": error_of(result.error, self.root),
            "notebook": relative(self.root, notebook),
            "cached_from": result.cached_from,
            "artifacts": artifacts_of(result.artifacts),
        }

    def finish(self, status: str, error: str | None = None, mlflow_run_id: str | None = None):
        with self._lock:
            self.status = status
            self.error = error
            self.mlflow_run_id = mlflow_run_id
            self.end = time.time()

    def cancel(self) -> str:
        """Ask the scheduler to stop (it checks between steps and stops running kernels)."""
        self.stop.set()
        with self._lock:
            if self.status in ACTIVE:
                self.status = "cancelling"
            return self.status

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            out = {
                "run_id": self.run_id,
                "name": self.name,
                "status": self.status,
                "path": relative(self.root, self.notebook),
                "params": dict(self.params),
                "start": self.start,
                "end": self.end,
                "steps": [dict(s) for s in self.steps.values()],
                "metrics": dict(self.metrics),
                "error": self.error,
            }
            mlflow_run_id = self.mlflow_run_id
        if mlflow_run_id is None and self.run_dir is not None and self.status not in ACTIVE:
            # Logged later (`python -m jupyter_mlops.tracking.observer sync` after the store was down):
            # the sync records the id in run.json.
            from nb2pipe.runner.rundir import RunDir

            mlflow_run_id = RunDir(self.run_dir).info().get("mlflow_run_id")
        if mlflow_run_id:
            out["mlflow_run_id"] = mlflow_run_id
        return out


def step_entry(name: str, status: str) -> dict[str, Any]:
    """A step as GET runs/<id> lists it, before it has a result."""
    return {"name": name, "status": status, "duration": None, "error": None, "notebook": None}


def error_of(error: dict | None, root: Path) -> dict | None:
    """A step's error for the UI: message, cell, exception; one line each, no server paths."""
    if not error:
        return None
    out = {k: v for k, v in error.items() if k in ("message", "cell", "ename", "evalue")}
    for key in ("message", "evalue"):
        if isinstance(out.get(key), str):
            out[key] = one_line(safe(out[key], root))
    return out


# What a saved value is to the views, by the serializer nb2pipe chose for its type: a table the
# Data view profiles, a model the Models view offers to publish, or any other value.
MODELS = ("joblib", "xgboost-booster", "lightgbm-booster", "catboost", "keras", "torch")
KINDS = {**dict.fromkeys(TABLES, "table"), **dict.fromkeys(MODELS, "model")}


def artifacts_of(entries: dict[str, dict]) -> dict[str, dict]:
    """What a step saved, as the Data and Models views pick from: type, format, size and kind
    per name."""
    return {
        name: {
            **{k: e.get(k) for k in ("type", "serializer", "size")},
            "kind": KINDS.get(e.get("serializer") or "", "value"),
        }
        for name, e in (entries or {}).items()
    }
