"""`%mlops sweep` / `jupyter_mlops.sweep()`: a sweep from a cell, watched live.

One row per trial — its parameter values, its status (as its run goes: running, succeeded,
failed, pruned) and its metric — updated from the runner's events as each trial's run starts
and ends; at the end the best trial is marked and the sweep's folder named. Like the run view,
it is an `Observer` beside the MLflow tracker, so it shows what `nb2pipe sweep` prints.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from jupyter_mlops.widgets.live_run import _notebook, badge
from nb2pipe.runner import events as ev


class LiveSweepView(ev.Observer):
    """The widget of one sweep; `widget` is what the cell displays."""

    def __init__(self, title: str):
        import ipywidgets as w

        self.status = "starting"
        self.sweep = None
        self.trials: dict[int, dict[str, Any]] = {}  # number -> {"params", "status", "value"}
        self._by_run: dict[str, int] = {}
        self._title = w.HTML(f"<b>{html.escape(title)}</b>")
        self._state = w.HTML(badge(self.status))
        self._table = w.HTML("")
        self._footer = w.HTML("")
        self.widget = w.VBox(
            [
                w.HBox([self._title, self._state], layout=w.Layout(grid_gap="8px")),
                self._table,
                self._footer,
            ]  # fmt: skip
        )
        self.widget.add_class("jp-mlops-live-sweep")

    def __call__(self, event: ev.Event) -> None:
        if event.kind == ev.SWEEP_STARTED:
            self.sweep = event.data["sweep"]
            for trial in event.data.get("planned") or []:
                self.trials[trial.number] = {"params": trial.params, "status": "pending"}
            self._set_state("running")
        elif event.kind == ev.RUN_STARTED and "sweep" in event.data:
            number = event.data["sweep"]["trial"]
            self._by_run[event.run_id] = number
            self.trials[number] = {"params": self._params(event), "status": "running"}
        elif event.kind == ev.TRIAL_ENDED:
            trial = event.data["trial"]
            self.trials[trial.number] = {
                "params": trial.params,
                "status": trial.status,
                "value": trial.value,
            }
        elif event.kind == ev.SWEEP_FINISHED:
            self.sweep = event.data["sweep"]
            self._set_state(self.sweep.status)
            self._footer.value = self._summary()
        else:
            return
        self._table.value = self._rows()

    def _params(self, event: ev.Event) -> dict[str, Any]:
        names = [d["name"] for d in self.sweep.space] if self.sweep is not None else []
        values = event.data.get("params") or {}
        return {n: values.get(n) for n in names}

    def _set_state(self, status: str) -> None:
        self.status = status
        sweep = f" sweep <code>{html.escape(self.sweep.id)}</code>" if self.sweep else ""
        self._state.value = badge(status) + sweep

    def _rows(self) -> str:
        metric = self.sweep.metric if self.sweep is not None else None
        best = self.sweep.best.number if self.sweep is not None and self.sweep.best else None
        names = [d["name"] for d in self.sweep.space] if self.sweep is not None else []
        head = "".join(f"<th>{html.escape(n)}</th>" for n in ["trial", *names, "status"])
        head += f"<th>{html.escape(metric)}</th>" if metric else ""
        rows = []
        for number in sorted(self.trials):
            trial = self.trials[number]
            cells = [str(number), *(_show(trial["params"].get(n)) for n in names)]
            row = "".join(f"<td>{html.escape(c)}</td>" for c in cells)
            row += f"<td>{badge(trial['status'])}</td>"
            if metric:
                value = trial.get("value")
                row += f"<td>{'' if value is None else f'{value:.4g}'}</td>"
            mark = ' style="font-weight:bold"' if number == best else ""
            rows.append(f'<tr data-trial="{number}"{mark}>{row}</tr>')
        return (
            '<table class="jp-mlops-sweep-trials" style="border-collapse:collapse">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )

    def _summary(self) -> str:
        sweep = self.sweep
        counts = ", ".join(f"{n} {s}" for s, n in sorted(sweep.counts().items()))
        best = sweep.best
        text = f"{len(sweep.trials)} trials ({counts}) in {sweep.duration:.1f} s"
        if best is not None:
            text += (
                f" · best: trial {best.number} ({html.escape(str(sweep.metric))} = "
                f"{best.value:.4g})"
            )
        return f"{text} · folder <code>{html.escape(str(sweep.path))}</code>"


def _show(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def sweep(
    notebook: str | Path | None = None,
    space: dict[str, Any] | None = None,
    **options: Any,
):
    """Run a sweep of `notebook`'s pipeline (default: the notebook this kernel runs) over
    `space` (name → list of values, or "0.1,1,10" / "0.001..10:log" text) with a live view.

    `options` are `nb2pipe.sweep.run_sweep`'s (mode, trials, metric, direction, seed, force).
    Returns the view (its `status`, `trials`, `sweep`); the view is displayed.
    """
    from IPython.display import display

    from jupyter_mlops.tracking import config
    from jupyter_mlops.tracking.session import SESSION
    from nb2pipe.errors import Nb2PipeError
    from nb2pipe.runner import load_pipeline
    from nb2pipe.sweep import run_sweep

    pipeline, source = load_pipeline(_notebook(notebook))
    # the sweep and its trials are logged to the pipeline's experiment: `%mlops runs` looks there
    SESSION.pipeline_experiment = config.experiment_name(pipeline.name, source.parent)
    view = LiveSweepView(f"sweep · {pipeline.name} · {source.name}")
    display(view.widget)
    pairs = [(k, v if isinstance(v, str) else list(v)) for k, v in (space or {}).items()]
    try:
        run_sweep(pipeline, source, pairs, observers=[view, *ev.plugged_in()], **options)
    except Nb2PipeError:
        view._set_state("failed")
        raise
    return view
