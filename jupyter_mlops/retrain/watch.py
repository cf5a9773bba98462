"""The watch loop of continuous training (`nb2pipe watch`): poll the triggers, run on a fire.

A `Watcher` polls its triggers (triggers.py) every `interval` seconds — it sleeps on an event
in between, so a signal stops it at once — and runs the pipeline when one fires. Every check is
one line in the decision log (a check that says the same as last time is not repeated). What
the watcher has seen is kept in ``<workspace>/watch/<notebook>.json``, so a later watcher
(``--once`` from cron) carries on where the previous one stopped. A triggered run ignores the
cache (`force`): what changed is outside the notebook, where fingerprints do not look.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_mlops.credentials import one_line
from jupyter_mlops.retrain.triggers import STATE_DIR, Decision
from nb2pipe.errors import Nb2PipeError


def _stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


class Watcher:
    """Polls `triggers` and runs the pipeline of `notebook` when one fires."""

    def __init__(
        self,
        notebook: str | os.PathLike,
        triggers: list,
        *,
        interval: float = 60.0,
        max_runs: int | None = None,
        once: bool = False,
        params: dict[str, Any] | None = None,
        workspace: str | os.PathLike | None = None,
        observers: list = (),
        echo: Callable[[str], None] = print,
    ):
        if not triggers:
            raise Nb2PipeError("nothing to watch: give --data, --log with --reference, or --metric")
        if interval <= 0:
            raise Nb2PipeError(f"--interval {interval}: must be above zero")
        self.notebook = Path(notebook)
        self.triggers = triggers
        self.interval = interval
        self.max_runs = max_runs
        self.once = once
        self.params = params
        self.workspace = workspace
        self.observers = list(observers)
        self.echo = echo
        self.results: list = []
        self._last: dict[str, str] = {}
        from nb2pipe.runner.workspaces import open_workspace

        space = open_workspace(workspace, self.notebook)
        self.state_file = space.root / STATE_DIR / f"{self.notebook.stem}.json"
        self._restore()

    def _restore(self) -> None:
        """Carry on where the last watcher of this notebook stopped (how `--once` from cron
        sees the files that arrived since its previous invocation)."""
        from nb2pipe.fileio import read_json

        saved = read_json(self.state_file) or {}
        for trigger in self.triggers:
            if trigger.key in saved:
                trigger.restore(saved[trigger.key])

    def _save(self) -> None:
        from nb2pipe.fileio import read_json, write_json

        saved = read_json(self.state_file) or {}
        saved.update({t.key: t.state() for t in self.triggers})
        write_json(self.state_file, saved)

    def say(self, line: str) -> None:
        self.echo(f"{_stamp()} watch {line}")

    def poll(self) -> list[Decision]:
        decisions = []
        for trigger in self.triggers:
            try:
                decision = trigger.check()
            except Exception as e:  # a watcher outlives a bad batch or a store that is down
                # one_line: a store's error quotes its URL, password included
                decision = Decision(trigger.name, False, f"cannot check: {one_line(e)}")
            decisions.append(decision)
            text = str(decision)
            if decision.fire or self._last.get(trigger.name) != text:
                self.say(text)
            self._last[trigger.name] = text
        self._save()
        return decisions

    def run_once(self, stop: threading.Event):
        from nb2pipe.runner import load_pipeline, run_pipeline

        fired = [d.trigger for d in self.poll() if d.fire]
        if not fired:
            return None
        started = time.time()
        self.say(f"run: {self.notebook} (triggered by {', '.join(fired)})")
        result = run_pipeline(
            *load_pipeline(self.notebook),  # compiled afresh: the notebook may have changed
            params=self.params,
            force=True,
            workspace=self.workspace,
            observers=self.observers,
            stop=stop,
        )
        for trigger in self.triggers:
            trigger.ran(started)
        self._save()
        self.results.append(result)
        failure = result.failure()
        outcome = f": {failure}" if failure is not None else ""
        self.say(f"run {result.run_id} {result.status} in {result.duration:.1f}s{outcome}")
        return result

    def watch(self, stop: threading.Event | None = None) -> list:
        """Poll until `stop` is set, `max_runs` runs were started, or once with `once`."""
        stop = stop or threading.Event()
        names = ", ".join(t.name for t in self.triggers)
        every = "once" if self.once else f"every {self.interval:g}s"
        self.say(f"started: {self.notebook}, checking {names} {every}")
        while not stop.is_set():
            self.run_once(stop)
            if self.max_runs is not None and len(self.results) >= self.max_runs:
                self.say(f"stopped: {len(self.results)} run(s), the --max-runs limit")
                break
            if self.once:
                self.say("stopped: --once")
                break
            if stop.wait(self.interval):
                break
        if stop.is_set():
            self.say("stopped: signal received")
        return self.results


def watch_until_signal(watcher: Watcher) -> list:
    """Run `watcher` in the main thread, stopping cleanly on SIGINT or SIGTERM."""
    import signal

    stop = threading.Event()

    def handler(signum, frame) -> None:
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return watcher.watch(stop)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
