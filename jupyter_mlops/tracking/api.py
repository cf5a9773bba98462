"""The Python API behind the magics and the sidebar; the same calls in a cell and in a step.

Interactively, values are buffered and sent in batches (see session.py). Inside a pipeline
step (the runner sets ``NB2PIPE_STEP`` and ``NB2PIPE_RUN_DIR`` in the kernel) they are
appended to the step's journal and logged into the step's nested run when the pipeline
finishes (see journal.py), so a papermill step logs exactly like an interactive cell.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Any

from jupyter_mlops.tracking import journal, store
from jupyter_mlops.tracking.session import SESSION, TrackedRun

__all__ = [
    "flush",
    "log_artifact",
    "log_metrics",
    "log_params",
    "recent_runs",
    "set_experiment",
    "set_tracking_uri",
    "start_run",
]


def _step() -> journal.StepJournal | None:
    where = journal.current_step()
    return journal.StepJournal(*where) if where else None


def _merge(values: dict[str, Any] | None, extra: dict[str, Any]) -> dict[str, Any]:
    return {**(values or {}), **extra}


def set_experiment(name: str) -> None:
    """Log interactive runs to experiment `name` (a pipeline step keeps its pipeline's)."""
    if _step() is None:
        SESSION.set_experiment(name)


def set_tracking_uri(uri: str | None) -> None:
    """Use `uri` for this session instead of the configured one (None: back to config)."""
    SESSION.set_tracking_uri(uri)


def log_params(params: dict[str, Any] | None = None, /, **values: Any) -> None:
    """Log parameters: ``log_params({"lr": 0.1})`` or ``log_params(lr=0.1)``."""
    values = _merge(params, values)
    step = _step()
    if step is not None:
        step.params(values)
    else:
        SESSION.current().add_params(values)


def log_metrics(
    metrics: dict[str, Any] | None = None, /, *, step: int | None = None, **values: Any
) -> dict[str, float]:
    """Log numeric metrics (optionally at a training `step`); return those that were logged."""
    numbers = {}
    for name, value in _merge(metrics, values).items():
        number = store.as_number(value)
        if number is None:
            warnings.warn(
                f"jupyter-mlops: metric {name!r} skipped: {value!r:.60} is not a finite number",
                stacklevel=2,
            )
        else:
            numbers[name] = number
    target = _step()
    if target is not None:
        target.metrics(numbers, step)
    elif numbers:
        SESSION.current().add_metrics(numbers, step)
    return numbers


def log_artifact(path: str | os.PathLike, artifact_path: str | None = None) -> None:
    """Log a file or folder as an artifact of the current run (or step)."""
    if not os.path.exists(path):
        from jupyter_mlops.errors import TrackingError

        raise TrackingError(f"log_artifact: no such file or folder: {path}")
    step = _step()
    if step is not None:
        step.artifact(path, artifact_path)
        return
    run = SESSION.current()
    run.flush()
    uri = SESSION.uri
    from jupyter_mlops.errors import translated

    with translated("log an artifact", uri):
        client = store.client(uri)
        if os.path.isdir(path):
            client.log_artifacts(run.id, str(path), artifact_path)
        else:
            client.log_artifact(run.id, str(path), artifact_path)


@dataclass
class StepRun:
    """What `start_run` gives inside a pipeline step: the step's own run, logged at the end."""

    journal: journal.StepJournal
    name: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    id: str | None = None  # known only once the pipeline run is synced

    def __enter__(self) -> StepRun:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def end(self, status: str = "FINISHED") -> None:
        pass


def start_run(name: str | None = None, *, tags: dict[str, Any] | None = None):
    """A run for the values logged inside a ``with`` block (nested if another is open).

    Inside a pipeline step, values always go to the step's run: this only adds `tags`.
    """
    step = _step()
    if step is not None:
        step.tags(tags or {})
        return StepRun(step, name, dict(tags or {}))
    return SESSION.start_run(name, tags)


def end_run(run: TrackedRun | StepRun | None = None, status: str = "FINISHED") -> None:
    """End `run` (default: the innermost one started with `start_run`)."""
    if isinstance(run, StepRun):
        return
    target = run or (SESSION.stack[-1] if SESSION.stack else SESSION.auto)
    if target is not None:
        SESSION.finish(target, status)


def flush() -> None:
    """Send buffered values now (normally done at the end of each cell)."""
    SESSION.flush()


def recent_runs(n: int = 10, experiment: str | None = None) -> list[dict[str, Any]]:
    """The `n` latest top-level runs of `experiment`, newest first, as plain dicts (a pipeline
    run's steps nested in its "steps"). The experiment defaults to that of the pipeline
    `%mlops run` just ran, else the session's (`set_experiment`, or the notebook's)."""
    from jupyter_mlops.errors import translated
    from jupyter_mlops.tracking import read

    SESSION.flush()
    uri = SESSION.uri
    with translated("read runs", uri):
        return read.recent_runs(store.client(uri), experiment or SESSION.runs_experiment(), n)
