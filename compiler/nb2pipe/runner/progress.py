"""Run progress on the terminal: one line per step, with rich; silent when not a TTY."""

from __future__ import annotations

import sys

from . import events as ev

_STYLE = {
    ev.STEP_STARTED: ("▶", "cyan", "running"),
    ev.STEP_CACHED: ("≡", "blue", "cached"),
    ev.STEP_FINISHED: ("✓", "green", "done"),
    ev.STEP_FAILED: ("✗", "red", "failed"),
    ev.STEP_SKIPPED: ("-", "yellow", "skipped"),
}


class TerminalProgress:
    """An observer printing each step's state change, and a spinner while steps run."""

    def __init__(self, stream=None, force: bool | None = None):
        self.stream = stream or sys.stderr
        self.enabled = force if force is not None else self.stream.isatty()
        self._progress = None
        self._task = None

    def __call__(self, event: ev.Event) -> None:
        if not self.enabled:
            return
        if event.kind == ev.RUN_STARTED:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            console = Console(file=self.stream)
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            self._progress.start()
            steps = event.data.get("steps", [])
            self._task = self._progress.add_task(
                f"pipeline {event.data['pipeline'].name}", total=len(steps)
            )
            return
        if self._progress is None:
            return
        if event.kind == ev.RUN_FINISHED:
            self._progress.stop()
            return
        if event.kind not in _STYLE:
            return
        symbol, color, word = _STYLE[event.kind]
        result = event.data.get("result")
        detail = ""
        if event.kind == ev.STEP_FINISHED:
            detail = f"{result.duration:.1f}s"
        elif event.kind == ev.STEP_CACHED:
            detail = f"from run {result.cached_from}"
        elif result is not None and result.error:
            detail = result.error.get("message", "")
        self._progress.console.print(
            f"[{color}]{symbol}[/] {event.step:<24} [{color}]{word:<8}[/] {detail}", highlight=False
        )
        if event.kind != ev.STEP_STARTED:
            self._progress.advance(self._task)


class WarningPrinter:
    """An observer printing each hazard of a run as one `warning: FILE: cell N: …` line,
    whether or not the stream is a terminal; with `once`, each line once (a sweep's trials
    share the compiler's warnings)."""

    def __init__(self, file: str | None, stream=None, *, once: bool = False):
        self.file = file
        self.stream = stream or sys.stderr
        self.seen: set[str] | None = set() if once else None

    def __call__(self, event: ev.Event) -> None:
        if event.kind == ev.WARNING:
            from ..errors import warning_line

            message = event.data["message"]
            if event.step:
                message = f"step {event.step!r}: {message}"
            line = warning_line(self.file, event.data.get("cell"), message)
            if self.seen is not None:
                if line in self.seen:
                    return
                self.seen.add(line)
            print(line, file=self.stream)


class SweepPrinter:
    """An observer printing a sweep: what it searches, then one line per trial as it ends."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def __call__(self, event: ev.Event) -> None:
        if event.kind == ev.SWEEP_STARTED:
            sweep = event.data["sweep"]
            planned = len(event.data.get("planned") or [])
            size = f"{planned} trials" if planned else "trials"
            over = ", ".join(d["name"] for d in sweep.space)
            metric = f", by {sweep.metric} ({sweep.direction})" if sweep.metric else ""
            print(f"sweep {sweep.id}: {sweep.mode}, {size} over {over}{metric}", file=self.stream)
        elif event.kind == ev.TRIAL_ENDED:
            print(trial_line(event.data["trial"], event.data["sweep"].metric), file=self.stream)
        self.stream.flush()


def trial_line(trial, metric: str | None) -> str:
    """`trial 3  C=1 max_depth=6  succeeded  accuracy=0.9123  run <id>`."""
    params = " ".join(
        f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in trial.params.items()
    )
    value = f"  {metric}={trial.value:.6g}" if metric and trial.value is not None else ""
    return f"trial {trial.number:<3} {params}  {trial.status}{value}  run {trial.run_id}"
