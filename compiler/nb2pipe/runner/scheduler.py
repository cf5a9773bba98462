"""`run_pipeline`: execute a pipeline's DAG locally — parallel, cached, resumable.

The scheduling thread walks the steps in dependency order. A step whose upstream all finished
gets its fingerprint (see fingerprint.py); a match in the cache links the earlier artifacts in
and costs no kernel. Otherwise it runs in a worker thread, in a warm kernel from the pool, with
at most `max_parallel` steps at once. A failed step stops its descendants only. Papermill and
the kernels are touched only when some step must really execute, so a run where nothing changed
starts no kernel and imports nothing heavy.
"""

from __future__ import annotations

import difflib
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from .. import __version__, pipeline_file
from ..errors import Nb2PipeError, StepFailed, os_problem
from ..fileio import plain
from ..ir import Pipeline, Step
from . import events as ev
from .cache import open_cache
from .execute import Outcome
from .isolation import default_parallel
from .isolation import isolation as isolation_named
from .records import StepRecords
from .results import RunResult, StepResult
from .rundir import DONE, RunDir, Workspace, process_marks
from .source import choose_run, load_pipeline, resolve_params


def run_pipeline(
    source: str | os.PathLike | Pipeline,
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
) -> RunResult:
    """Compile (if given a notebook) and run the pipeline; return what happened to each step.

    Setting `stop` (from another thread: the sidebar's Cancel) ends the run: running steps'
    kernels are stopped and the run is marked "cancelled"; `--resume` can finish it later.
    """
    pipeline, notebook = load_pipeline(source)
    values = resolve_params(pipeline, params)
    space = Workspace.at(workspace, notebook)
    names = [s.name for s in pipeline.steps]
    for flag, name in (("--from", from_step), ("--only", only)):
        if name is not None and name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"steps: {', '.join(names)}"
            raise Nb2PipeError(f"{flag} {name}: no such step ({hint})", file=str(notebook))
    strategy = isolation_named(isolation)
    run, values, notes = choose_run(space, pipeline, resume, params, values)
    return _Run(
        pipeline,
        notebook,
        values,
        space,
        run,
        max_parallel or default_parallel(strategy, pipeline),
        force,
        from_step,
        only,
        strategy,
        observers,
        stop,
        notes,
    ).execute()


class _Run:
    def __init__(
        self,
        pipeline,
        notebook,
        params,
        space,
        run,
        max_parallel,
        force,
        from_step,
        only,
        isolation,
        observers,
        stop=None,
        notes=(),
    ):
        self.stop = stop
        self.notes = list(notes)
        self.pipeline: Pipeline = pipeline
        self.notebook: Path = notebook
        self.params = params
        self.space: Workspace = space
        self.run: RunDir = run
        self.max_parallel = max(1, max_parallel)
        self.where = isolation(pipeline, notebook, space.root, self.max_parallel, space.storage)
        self.emit = ev.Broadcaster([*space.publishers(), *observers])
        self.cache = open_cache(space, pipeline, notebook, params)
        self.results: dict[str, StepResult] = {}
        self.records = StepRecords(run, self.emit)
        self.stopped_at: int | None = None  # the cell where a step ended the notebook
        # Which steps must run whatever the cache says, and which are part of this run at all.
        self.forced: set[str] = set()
        self.selected = [s.name for s in pipeline.steps]
        if force:
            self.forced = set(self.selected)
        if from_step:
            self.forced |= {from_step, *pipeline.downstream(from_step)}
        if only:
            self.forced = {only}
            self.selected = [*self._ancestors(only), only]
        self.only = only

    def _ancestors(self, name: str) -> list[str]:
        found: set[str] = set()
        todo = list(self.pipeline.step(name).upstream)
        while todo:
            up = todo.pop()
            if up not in found:
                found.add(up)
                todo += self.pipeline.step(up).upstream
        return [s.name for s in self.pipeline.steps if s.name in found]

    # --- the run -------------------------------------------------------------------------
    def execute(self) -> RunResult:
        start = time.time()
        info = {
            "pipeline": self.pipeline.name,
            "source": str(self.notebook),
            "params": plain(self.params),
            "steps": self.selected,
            "status": "running",
            "start": start,
            "nb2pipe": __version__,
            "isolation": self.where.name,
            "max_parallel": self.max_parallel,
            **process_marks(),
        }
        from ..fileio import write_atomic

        try:
            self.run.write_info(info)
            write_atomic(self.run.path / "pipeline.yaml", pipeline_file.dump(self.pipeline))
        except OSError as e:
            raise StepFailed(
                f"run {self.run.id} could not start: {os_problem(e)}", file=str(self.notebook)
            ) from None
        self.emit(
            ev.Event(
                ev.RUN_STARTED,
                self.run.id,
                data={
                    "pipeline": self.pipeline,
                    "params": self.params,
                    "run_dir": self.run.path,
                    "source": self.notebook,
                    "steps": self.selected,
                },
            )
        )
        for note in self.notes:
            self.emit(ev.Event(ev.WARNING, self.run.id, data={"cell": None, "message": note}))
        for hazard in self.pipeline.warnings:
            self.emit(
                ev.Event(
                    ev.WARNING, self.run.id, data={"cell": hazard.cell, "message": hazard.message}
                )
            )
        status = "failed"
        storage: OSError | None = None  # a full disk, a lost permission: the run cannot go on
        try:
            self._schedule()
            ok = all(r.status in DONE or self._stopped(r) for r in self.results.values())
            status = "succeeded" if ok else "failed"
        except _Cancelled:
            status = "cancelled"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        except OSError as e:
            storage = e
        finally:
            self.where.shutdown()
            end = time.time()
            info.update(status=status, end=end, duration=end - start)
            try:
                for name, result in self.results.items():
                    if result.status == "running":
                        result.status = "interrupted"
                        self.records.write_meta(name, result)
                self.cache.save()
                self.run.write_info(info)
            except OSError as e:  # the last record could not be written; say so, one line
                storage = storage or e
            result = RunResult(
                self.run.id,
                self.run.path,
                self.pipeline,
                self.params,
                status,
                self.results,
                start,
                end,
                self.notebook,
            )
            self.emit(ev.Event(ev.RUN_FINISHED, self.run.id, data={"result": result}))
        if storage is not None:
            raise StepFailed(
                f"run {self.run.id} stopped: {os_problem(storage)}", file=str(self.notebook)
            )
        return result

    def _schedule(self) -> None:
        self.where.prepare()
        pending = list(self.selected)
        running: dict[Future, str] = {}
        attempts: dict[str, int] = {}
        workers = ThreadPoolExecutor(self.max_parallel, thread_name_prefix="nb2pipe-step")
        try:
            while pending or running:
                if self.stop is not None and self.stop.is_set():
                    raise _Cancelled
                for name in list(pending):
                    if len(running) >= self.max_parallel:
                        break
                    step = self.pipeline.step(name)
                    upstream = [self.results.get(u) for u in step.upstream if u in self.selected]
                    if any(u is None or u.status in ("running",) for u in upstream):
                        continue
                    pending.remove(name)
                    if any(u.status not in DONE for u in upstream):
                        self._skip(step, [u.name for u in upstream if u.status not in DONE])
                        continue
                    if self._try_cache(step):
                        continue
                    if self.only and name != self.only:
                        raise Nb2PipeError(
                            f"--only {self.only}: upstream step {name!r} has no cached result "
                            "to start from; run the pipeline once first",
                            file=str(self.notebook),
                        )
                    self.where.expect(len(pending) + 1)
                    running[self._submit(workers, step)] = name
                if not running:
                    continue
                # Wake up now and then to notice a cancel request.
                finished, _ = wait(list(running), timeout=0.5, return_when=FIRST_COMPLETED)
                for future in finished:
                    name = running.pop(future)
                    step = self.pipeline.step(name)
                    outcome: Outcome = future.result()
                    attempts[name] = attempts.get(name, 0) + 1
                    if not outcome.ok and attempts[name] <= step.retries:
                        running[self._submit(workers, step, attempt=attempts[name] + 1)] = name
                        continue
                    self._finish(step, outcome, attempts[name])
                if self.stopped_at is not None:
                    self._skip_after_stop(pending)
                self.where.expect(sum(1 for n in pending if self._may_run(n)))
        except BaseException:
            # Ctrl-C (or any error) while steps run: stop their kernels *before* waiting for
            # the workers. Joining first (as `with ThreadPoolExecutor` did) held Ctrl-C until
            # every running step had finished, and let an "interrupted" step write its outputs.
            self.where.shutdown()
            raise
        finally:
            workers.shutdown(wait=True)

    def _may_run(self, name: str) -> bool:
        return name not in self.results

    # --- one step ------------------------------------------------------------------------
    def _try_cache(self, step: Step) -> bool:
        inputs = self.cache.input_hashes(step, {u: self.run.path for u in step.upstream})
        parts = self.cache.parts(step, inputs, self.where.image(step))
        self.records.parts[step.name] = parts
        if not step.cache or step.name in self.forced:
            return False
        hit = self.cache.find(step, parts)
        for name, message in self.cache.warnings:
            self.records.warn(name, f"{message}; running the step again")
        self.cache.warnings.clear()
        if hit is None:
            return False
        try:
            self.cache.reuse(hit, self.run, step.name)
        except (OSError, Nb2PipeError) as e:
            self.records.warn(step.name, f"could not reuse run {hit.run.id} ({e}); running")
            return False
        result = StepResult(
            step.name,
            "cached",
            0.0,
            parts.fingerprint(),
            cached_from=hit.cached_from,
            notebook=self.run.notebook(step.name),
        )
        self.results[step.name] = result
        earlier = hit.run.meta(hit.step) or {}
        self.records.cached(result, earlier.get("files_written") or {})
        return True

    def _submit(self, workers: ThreadPoolExecutor, step: Step, attempt: int = 1) -> Future:
        self.results[step.name] = self.records.started(step, attempt)
        env = {"NB2PIPE_RUN_ID": self.run.id}
        for observer in self.emit.observers:
            env.update(observer.step_env(step.name))
        return workers.submit(self.where.run, step, self.params, self.run.path, env)

    def _finish(self, step: Step, outcome: Outcome, attempts: int) -> None:
        stopped = outcome.extra.get("stopped")
        if outcome.ok and stopped is not None:
            self.stopped_at = stopped
        written = self.cache.written(step) if outcome.ok else {}
        self.records.finished(self.results[step.name], outcome, attempts, written)
        if outcome.ok and step.cache and stopped is None:
            self.cache.remember(self.records.parts[step.name], self.run, step.name)

    def _skip_after_stop(self, pending: list[str]) -> None:
        """Run All runs nothing after a cell that calls `sys.exit(0)`: neither do we."""
        for name in list(pending):
            if self.pipeline.step(name).first_cell > self.stopped_at:
                pending.remove(name)
                message = f"not run: the notebook stops at cell {self.stopped_at} (sys.exit)"
                self.results[name] = self.records.skipped(name, message, stopped=True)

    @staticmethod
    def _stopped(result: StepResult) -> bool:
        return result.status == "skipped" and bool((result.error or {}).get("stopped"))

    def _skip(self, step: Step, failed_upstream: list[str]) -> None:
        message = f"upstream failed: {', '.join(failed_upstream)}"
        self.results[step.name] = self.records.skipped(step.name, message)


class _Cancelled(Exception):
    """The caller set the run's `stop` event."""
