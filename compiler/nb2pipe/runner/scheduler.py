"""`run_pipeline`: execute a pipeline's DAG locally — parallel, cached, resumable.

The scheduling thread walks the steps in dependency order. A step whose upstream all finished
gets its fingerprint (see fingerprint.py); a match in the cache links the earlier artifacts in
and costs no kernel. Otherwise it runs in a worker thread, in a warm kernel from the pool, with
at most `max_parallel` steps at once. A failed step stops its descendants only. Papermill and
the kernels are touched only when some step must really execute, so a run where nothing changed
starts no kernel and imports nothing heavy.

`Scheduler` drives one run or many side by side (a sweep's trials, run.py): one loop, one pool
of places to run steps, `max_parallel` steps at once across all of them, and every event sent
from this one thread.
"""

from __future__ import annotations

import difflib
import os
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from ..compile.ir import Pipeline
from ..errors import Nb2PipeError, StepFailed, os_problem
from . import events as ev
from .isolation import Isolation, default_parallel
from .isolation import isolation as isolation_named
from .results import RunResult
from .run import PipelineRun
from .source import choose_run, resolve_params
from .workspaces import open_workspace


def run_pipeline(
    pipeline: Pipeline,
    notebook: str | os.PathLike,
    *,
    params: dict[str, Any] | None = None,
    max_parallel: int | None = None,
    force: bool = False,
    resume: str | None = None,
    from_step: str | None = None,
    only: str | None = None,
    isolation: str = "kernel",
    workspace: str | os.PathLike | None = None,
    observers: list[ev.Observer] = (),
    stop: threading.Event | None = None,
    info: dict[str, Any] | None = None,
) -> RunResult:
    """Run `pipeline`, compiled from `notebook` (`load_pipeline`), with `params` already typed
    (`nb2pipe.compile.parameters.typed_values`); return what happened to each step. Every door (the
    CLI, the sidebar, `%mlops run`) compiles once and starts its run here.

    Setting `stop` (from another thread: the sidebar's Cancel) ends the run: running steps'
    kernels are stopped and the run is marked "cancelled"; `--resume` can finish it later.
    `info` is written into run.json besides what the runner records (`like`: the run it
    repeats).
    """
    notebook = Path(notebook).resolve()
    values = resolve_params(pipeline, params)
    space = open_workspace(workspace, notebook)
    check_step_names(pipeline, notebook, from_step=from_step, only=only)
    strategy = isolation_named(isolation)
    run, values, notes = choose_run(space, pipeline, resume, params, values)
    parallel = max(1, max_parallel or default_parallel(strategy, pipeline))
    where = strategy(pipeline, notebook, space.root, parallel, space.storage)
    one = PipelineRun(
        pipeline,
        notebook,
        values,
        space,
        run,
        where,
        observers,
        force=force,
        from_step=from_step,
        only=only,
        notes=notes,
        info=info,
    )
    return Scheduler(where, parallel, stop).run([one])[0]


def check_step_names(pipeline: Pipeline, notebook, **flags: str | None) -> None:
    names = [s.name for s in pipeline.steps]
    for flag, name in flags.items():
        if name is not None and name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"steps: {', '.join(names)}"
            flag = "--" + flag.replace("_step", "")
            raise Nb2PipeError(f"{flag} {name}: no such step ({hint})", file=str(notebook))


class Scheduler:
    """Runs the steps of one or more `PipelineRun`s through one `Isolation`."""

    def __init__(self, where: Isolation, max_parallel: int, stop: threading.Event | None = None):
        self.where = where
        self.max_parallel = max(1, max_parallel)
        self.stop = stop
        self.active: list[PipelineRun] = []
        # fingerprint -> id of the run executing that step now: a run that needs the same
        # step waits and reuses it, instead of computing it again beside it.
        self.claims: dict[str, str] = {}

    def run(
        self,
        runs: list[PipelineRun],
        more: Callable[[Scheduler], list[PipelineRun]] | None = None,
        ended: Callable[[PipelineRun], None] | None = None,
    ) -> list[RunResult]:
        """Run `runs` to their end, and those `more` adds whenever it is asked (a sweep asks
        for trials as others end); `ended(run)` once each has. Results in the order begun."""
        begun: list[PipelineRun] = []
        status, storage = "failed", None
        try:
            for run in runs:
                self._begin(run, begun)
            self._loop(begun, more, ended)
            status = ""
        except _Cancelled:
            status = "cancelled"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        except OSError as e:  # a full disk, a lost permission: the runs cannot go on
            storage = e
        finally:
            self.where.shutdown()
            for run in list(self.active):
                storage = run.end(status or run.outcome()) or storage
                self.active.remove(run)
                if ended is not None:
                    ended(run)
        if storage is not None:
            first = begun[0] if begun else None
            raise StepFailed(
                f"run {first.id if first else '?'} stopped: {os_problem(storage)}",
                file=str(first.notebook) if first else None,
            )
        return [run.result for run in begun]

    def _begin(self, run: PipelineRun, begun: list[PipelineRun]) -> None:
        run.begin()
        begun.append(run)
        self.active.append(run)

    def _expect(self, extra: int = 0) -> None:
        self.where.expect(sum(r.expected() for r in self.active) + extra)

    def _loop(self, begun, more, ended) -> None:
        self.where.prepare()
        workers = ThreadPoolExecutor(self.max_parallel, thread_name_prefix="nb2pipe-step")
        try:
            while True:
                if more is not None:
                    for run in more(self):
                        self._begin(run, begun)
                if not self.active:
                    return
                if self.stop is not None and self.stop.is_set():
                    raise _Cancelled
                for run in list(self.active):
                    budget = self.max_parallel - self.running()
                    run.start_ready(workers, budget, self.claims, self._expect)
                for run in [r for r in self.active if r.idle()]:
                    run.end(run.outcome())
                    self.active.remove(run)
                    if ended is not None:
                        ended(run)
                futures = {f: r for r in self.active for f in r.running}
                if not futures:
                    continue
                # Wake up now and then to notice a cancel request.
                finished, _ = wait(list(futures), timeout=0.5, return_when=FIRST_COMPLETED)
                for future in finished:
                    futures[future].collect(future, workers, self.claims)
                self._expect()
        except BaseException:
            # Ctrl-C (or any error) while steps run: stop their kernels *before* waiting for
            # the workers. Joining first (as `with ThreadPoolExecutor` did) held Ctrl-C until
            # every running step had finished, and let an "interrupted" step write its outputs.
            self.where.shutdown()
            raise
        finally:
            workers.shutdown(wait=True)

    def running(self) -> int:
        return sum(len(r.running) for r in self.active)


class _Cancelled(Exception):
    """The caller set the run's `stop` event."""
