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
    whether or not the stream is a terminal."""

    def __init__(self, file: str | None, stream=None):
        self.file = file
        self.stream = stream or sys.stderr

    def __call__(self, event: ev.Event) -> None:
        if event.kind == ev.WARNING:
            from ..errors import warning_line

            message = event.data["message"]
            if event.step:
                message = f"step {event.step!r}: {message}"
            print(warning_line(self.file, event.data.get("cell"), message), file=self.stream)
