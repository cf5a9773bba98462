"""`%mlops run` / `jupyter_mlops.run()`: run the notebook's pipeline from a cell, watched live.

The view is an ipywidgets box fed by the runner's events — it is an `nb2pipe` `Observer`,
beside the MLflow tracker the command line and the sidebar use — so it shows what they show:
one row per step whose status changes as the step starts, finishes, is reused from the cache,
fails or is skipped; then the run's metrics and where it was logged. The run goes on in the
cell (the kernel is busy until it ends), and every change is sent to the frontend as it
happens, in JupyterLab and in Notebook 7 alike.
"""

from __future__ import annotations

import contextlib
import html
import threading
from pathlib import Path
from typing import Any

from nb2pipe.runner import events as ev

LOGGING = "logging the run to MLflow…"
NOT_LOGGED = "not logged to MLflow: see tracking.log in the run folder"

# The sidebar's colours (labextension/src/theme.ts): JupyterLab's theme variables, so the view
# reads in the light and the dark theme; the fallbacks serve frontends without them.
STATUS_COLOURS = {
    "pending": "var(--jp-layout-color4, #757575)",
    "running": "var(--jp-brand-color1, #1976d2)",
    "cached": "var(--jp-info-color1, #0097a7)",
    "done": "var(--jp-success-color1, #388e3c)",
    "succeeded": "var(--jp-success-color1, #388e3c)",
    "failed": "var(--jp-error-color1, #d32f2f)",
    "skipped": "var(--jp-warn-color2, #ffb74d)",
    "cancelled": "var(--jp-warn-color1, #f57c00)",
    "interrupted": "var(--jp-warn-color0, #e65100)",
}
_BY_EVENT = {
    ev.STEP_STARTED: "running",
    ev.STEP_CACHED: "cached",
    ev.STEP_FINISHED: "done",
    ev.STEP_FAILED: "failed",
    ev.STEP_SKIPPED: "skipped",
}


def badge(status: str) -> str:
    """The status as the sidebar shows it: its word in the text colour after a mark in the
    status's colour (no coloured text on a coloured pill: it reads in either theme)."""
    colour = STATUS_COLOURS.get(status, STATUS_COLOURS["pending"])
    return (
        '<span style="display:inline-flex;align-items:center;gap:4px;border:1px solid '
        "var(--jp-border-color2, #e0e0e0);border-radius:8px;padding:0 6px 0 4px;font-size:11px;"
        'color:var(--jp-ui-font-color1, inherit)">'
        f'<span style="width:8px;height:8px;border-radius:50%;background:{colour}"></span>'
        f"{html.escape(status)}</span>"
    )


class LiveRunView(ev.Observer):
    """The widget of one pipeline run; `widget` is what the cell displays."""

    def __init__(self, title: str, steps: list[str]):
        import ipywidgets as w

        self.statuses: dict[str, str] = dict.fromkeys(steps, "pending")
        self.run_id: str | None = None
        self.status = "starting"
        self.metrics: dict[str, float] = {}
        self._title = w.HTML(f"<b>{html.escape(title)}</b>")
        self._state = w.HTML(badge(self.status))
        self._rows: dict[str, tuple[Any, Any]] = {}
        rows = []
        for step in steps:
            status, detail = w.HTML(badge("pending")), w.HTML("")
            self._rows[step] = (status, detail)
            rows.append(
                w.HBox(
                    [w.HTML(f"<code>{html.escape(step)}</code>"), status, detail],
                    layout=w.Layout(grid_gap="8px", align_items="center"),
                )
            )
        self._metrics = w.HTML("")
        self._links = w.HTML("")
        self.widget = w.VBox(
            [w.HBox([self._title, self._state], layout=w.Layout(grid_gap="8px")), *rows]
            + [self._metrics, self._links]
        )
        self.widget.add_class("jp-mlops-live-run")

    def __call__(self, event: ev.Event) -> None:
        if event.kind == ev.RUN_STARTED:
            self.run_id = event.run_id
            self._set_state("running")
            for step in event.data.get("steps") or []:
                self._add_step(step)
        elif event.kind in _BY_EVENT and event.step:
            self._add_step(event.step)
            status = _BY_EVENT[event.kind]
            self.statuses[event.step] = status
            status_widget, detail = self._rows[event.step]
            status_widget.value = badge(status)
            detail.value = self._detail(event)
        elif event.kind == ev.RUN_FINISHED:
            result = event.data.get("result")
            if result is not None:
                self.finish(result, tracking=LOGGING)  # the tracker goes next

    def _add_step(self, step: str) -> None:
        if step not in self._rows:  # a step the view was not told of up front
            import ipywidgets as w

            status, detail = w.HTML(badge("pending")), w.HTML("")
            self._rows[step] = (status, detail)
            self.statuses.setdefault(step, "pending")
            row = w.HBox([w.HTML(f"<code>{html.escape(step)}</code>"), status, detail])
            children = list(self.widget.children)
            self.widget.children = (*children[:-2], row, *children[-2:])

    @staticmethod
    def _detail(event: ev.Event) -> str:
        result = event.data.get("result")
        if result is None:
            return ""
        if result.status == "done":
            return f"{result.duration:.1f} s"
        if result.status == "cached":
            return f"from run {html.escape(str(result.cached_from))}"
        error = result.error or {}
        cell = f"cell {error['cell']}: " if error.get("cell") else ""
        text = html.escape(cell + str(error.get("message", "")))
        return f'<span style="color:{STATUS_COLOURS["failed"]}">{text}</span>'

    def _set_state(self, status: str) -> None:
        self.status = status
        self._state.value = badge(status) + (
            f" run <code>{html.escape(self.run_id)}</code>" if self.run_id else ""
        )

    def finish(self, result, mlflow_run_id: str | None = None, tracking: str = "") -> None:
        """The run's outcome, its metrics, and where to look next (`tracking`: what became of
        its MLflow run, while it has no id)."""
        self._set_state(result.status)
        self.metrics = dict(result.metrics)
        if self.metrics:
            chips = " ".join(
                f"<code>{html.escape(k)} = {v:.4g}</code>" for k, v in sorted(self.metrics.items())
            )
            self._metrics.value = f"metrics: {chips}"
        links = [f"run folder <code>{html.escape(str(result.run_dir))}</code>"]
        if mlflow_run_id:
            links.append(f"MLflow run <code>{html.escape(mlflow_run_id)}</code>")
        if tracking and not mlflow_run_id:
            links.append(tracking)
        self._links.value = " · ".join(links)


def run(notebook: str | Path | None = None, *, force: bool = False, **params: Any):
    """Run `notebook`'s pipeline (default: the notebook this kernel runs) with a live view.

    Returns the `LiveRunView` (its `statuses`, `metrics`, `run_id`); the view is displayed.
    Parameters are the pipeline's, as `nb2pipe run -p NAME VALUE` would set them.
    """
    from IPython.display import display

    from nb2pipe.compile.parameters import typed_values
    from nb2pipe.errors import Nb2PipeError
    from nb2pipe.runner import load_pipeline, run_pipeline

    pipeline, source = load_pipeline(_notebook(notebook))
    # text, as `%mlops run -p NAME=VALUE` gives, is read like `nb2pipe run -p`
    params = typed_values(pipeline.params, params)
    from jupyter_mlops.tracking import config
    from jupyter_mlops.tracking.session import SESSION

    # where the tracker logs the run (observer.MlflowTracker's rule): `%mlops runs` looks there
    SESSION.pipeline_experiment = config.experiment_name(pipeline.name, source.parent)
    view = LiveRunView(f"{pipeline.name} · {source.name}", [s.name for s in pipeline.steps])
    display(view.widget)
    trackers = ev.plugged_in()  # MLflow tracking, as for `nb2pipe run`
    try:
        result = run_pipeline(
            pipeline, source, params=params, force=force, observers=[view, *trackers]
        )
    except Nb2PipeError:
        view._set_state("failed")
        raise
    from nb2pipe.runner.rundir import RunDir

    # the tracker writes the MLflow run's id back into run.json once it has logged the run
    logged = RunDir(result.run_dir).info().get("mlflow_run_id")
    detached = next((t.sync_process for t in trackers if getattr(t, "sync_process", None)), None)
    if detached is not None:
        SESSION.pipeline_loggers.append(detached)
    if logged is None and detached is not None:
        # Every step came from the cache: a detached process logs the run (the cell returns
        # at once); the link appears when it has.
        view.finish(result, tracking=LOGGING)
        threading.Thread(
            target=_link_when_logged, args=(view, result, detached), daemon=True
        ).start()
    else:
        view.finish(result, logged)
    return view


def _link_when_logged(view: LiveRunView, result, process, timeout: float = 300) -> None:
    from nb2pipe.runner.rundir import RunDir

    with contextlib.suppress(Exception):
        process.wait(timeout)
    logged = RunDir(result.run_dir).info().get("mlflow_run_id")
    view.finish(result, logged, tracking=NOT_LOGGED)


def pairs(texts: list[str]) -> dict[str, str]:
    """`NAME=VALUE` texts as a dict (the values still text)."""
    from nb2pipe.errors import Nb2PipeError

    out = {}
    for pair in texts:
        name, eq, value = pair.partition("=")
        if not eq or not name.isidentifier():
            raise Nb2PipeError(f"run: expected -p NAME=VALUE, got {pair!r}")
        out[name] = value
    return out


def _notebook(given: str | Path | None) -> Path:
    from jupyter_mlops.tracking.session import notebook_path
    from nb2pipe.errors import Nb2PipeError

    path = Path(given) if given is not None else notebook_path()
    if path is None:
        raise Nb2PipeError(
            "run: this kernel does not know its notebook: pass it, e.g. run('pipeline.ipynb')"
        )
    if not path.is_file():
        raise Nb2PipeError(f"run: {path}: no such notebook")
    return path.resolve()
