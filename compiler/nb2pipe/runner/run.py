"""One pipeline run as the scheduler drives it: its folder, its records, the state of its steps.

`PipelineRun` knows what one run needs — which steps are selected, forced, pending, running;
how a step is served from the cache, submitted, finished, skipped — and nothing of how many
runs share the machine. The scheduler (scheduler.py) drives one run (`nb2pipe run`) or many
side by side (the trials of a sweep) with the same loop, one place to run steps, and one
`claims` table: a step whose fingerprint another run is executing right now waits for it and is
then reused from the cache, so a prefix that trials share executes once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .. import __version__
from ..compile import pipeline_file
from ..compile.ir import Pipeline, Step
from ..errors import Nb2PipeError, StepFailed, os_problem
from ..fileio import plain, write_atomic
from ..trial import TrialPruned
from . import events as ev
from .execute import Outcome
from .isolation import Isolation
from .records import StepRecords
from .results import RunResult, StepResult
from .rundir import DONE, RunDir, Workspace, process_marks
from .workspaces import open_cache

PRUNED = TrialPruned.__name__  # how a step a sweep pruned ends (nb2pipe.trial)


class PipelineRun:
    def __init__(
        self,
        pipeline: Pipeline,
        notebook: Path,
        params: dict[str, Any],
        space: Workspace,
        run: RunDir,
        where: Isolation,
        observers: list[ev.Observer] = (),
        *,
        force: bool = False,
        from_step: str | None = None,
        only: str | None = None,
        notes: list[str] = (),
        fresh_from: set[str] | None = None,
        info: dict[str, Any] | None = None,
    ):
        self.pipeline = pipeline
        self.notebook = notebook
        self.params = params
        self.space = space
        self.run = run
        self.where = where
        self.notes = list(notes)
        self.extra_info = dict(info or {})  # what run.json says besides (a sweep's trial)
        # With `force`, results count only if made by one of these runs (a sweep's own trials:
        # a forced step executes once per sweep, not once per trial). None: never.
        self.fresh_from = fresh_from
        self.emit = ev.Broadcaster([*space.publishers(), *observers])
        self.cache = open_cache(space, pipeline, notebook, params)
        self.results: dict[str, StepResult] = {}
        self.records = StepRecords(run, self.emit)
        self.stopped_at: int | None = None  # the cell where a step ended the notebook
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
        self.pending = list(self.selected)
        # Looked up for every pending step at every turn of the scheduler's loop: by name.
        self.steps = {s.name: s for s in pipeline.steps}
        self.chosen = set(self.selected)
        self.running: dict[Future, str] = {}
        self.attempts: dict[str, int] = {}
        self.claimed: dict[str, str] = {}  # step -> the fingerprint it claimed while it runs
        self.info: dict[str, Any] = {}
        self.result: RunResult | None = None

    def _ancestors(self, name: str) -> list[str]:
        found: set[str] = set()
        todo = list(self.pipeline.step(name).upstream)
        while todo:
            up = todo.pop()
            if up not in found:
                found.add(up)
                todo += self.pipeline.step(up).upstream
        return [s.name for s in self.pipeline.steps if s.name in found]

    @property
    def id(self) -> str:
        return self.run.id

    # --- start and end ---------------------------------------------------------------------
    def begin(self) -> None:
        """Write run.json and the IR that runs, and tell the observers."""
        self.start = time.time()
        self.info = {
            "pipeline": self.pipeline.name,
            "source": str(self.notebook),
            "params": plain(self.params),
            "steps": self.selected,
            "status": "running",
            "start": self.start,
            "nb2pipe": __version__,
            "isolation": self.where.name,
            "max_parallel": self.where.max_parallel,
            "environment": self.cache.environment(),
            **self.extra_info,
            **process_marks(),
        }
        try:
            self.run.write_info(self.info)
            write_atomic(self.run.path / "pipeline.yaml", pipeline_file.dump(self.pipeline))
        except OSError as e:
            raise StepFailed(
                f"run {self.run.id} could not start: {os_problem(e)}", file=str(self.notebook)
            ) from None
        data = {
            "pipeline": self.pipeline,
            "params": self.params,
            "run_dir": self.run.path,
            "source": self.notebook,
            "steps": self.selected,
            **self.extra_info,
        }
        self.emit(ev.Event(ev.RUN_STARTED, self.run.id, data=data))
        for note in self.notes:
            self.emit(ev.Event(ev.WARNING, self.run.id, data={"cell": None, "message": note}))
        for hazard in self.pipeline.warnings:
            data = {"cell": hazard.cell, "message": hazard.message}
            self.emit(ev.Event(ev.WARNING, self.run.id, data=data))

    def outcome(self) -> str:
        """The status of a run whose steps all ended."""
        failed = [r for r in self.results.values() if r.status not in DONE and not _stopped(r)]
        if not failed:
            return "succeeded"
        if any((r.error or {}).get("ename") == PRUNED for r in failed):
            return "pruned"
        return "failed"

    def end(self, status: str) -> OSError | None:
        """Write the last records, tell the observers; an OSError that stopped the records."""
        end = time.time()
        self.info.update(status=status, end=end, duration=end - self.start)
        storage = None
        try:
            for name, result in self.results.items():
                if result.status == "running":
                    result.status = "interrupted"
                    self.records.write_meta(name, result)
            self.cache.save()
            self.info["data_files"] = self.data_files()
            self.run.write_info(self.info)
        except OSError as e:  # the last record could not be written; say so, one line
            storage = e
        self.result = RunResult(
            self.run.id,
            self.run.path,
            self.pipeline,
            self.params,
            status,
            self.results,
            self.start,
            end,
            self.notebook,
        )
        self.emit(ev.Event(ev.RUN_FINISHED, self.run.id, data={"result": self.result}))
        return storage

    def data_files(self) -> dict[str, dict]:
        """Every data file a step of this run read: its sha256, size and readers."""
        return self.cache.data_files(self.records.data_files)

    # --- scheduling ------------------------------------------------------------------------
    def idle(self) -> bool:
        return not self.pending and not self.running

    def expected(self) -> int:
        """Steps that may still need a place to run."""
        return sum(1 for n in self.pending if n not in self.results)

    def start_ready(
        self, workers: ThreadPoolExecutor, budget: int, claims: dict, expect: Callable[[int], None]
    ) -> int:
        """Serve, skip or submit every pending step whose upstream ended, at most `budget`
        submitted; return how many were. `expect(n)`: `n` more steps than the runs' pending
        ones are about to need a place to run (warm it up)."""
        submitted = 0
        for name in list(self.pending):
            if submitted >= budget:
                break
            step = self.steps[name]
            upstream = [self.results.get(u) for u in step.upstream if u in self.chosen]
            if any(u is None or u.status == "running" for u in upstream):
                continue
            if any(u.status not in DONE for u in upstream):
                self.pending.remove(name)
                self._skip(step, [u.name for u in upstream if u.status not in DONE])
                continue
            fingerprint = self._fingerprint(step)
            owner = claims.get(fingerprint) if step.cache else None
            if owner is not None and owner != self.run.id:
                continue  # another run executes exactly this step now: reuse it when it ends
            self.pending.remove(name)
            if self._try_cache(step):
                continue
            if self.only and name != self.only:
                raise Nb2PipeError(
                    f"--only {self.only}: upstream step {name!r} has no cached result "
                    "to start from; run the pipeline once first",
                    file=str(self.notebook),
                )
            if step.cache:
                claims[fingerprint] = self.run.id
                self.claimed[name] = fingerprint
            expect(1)
            self.running[self._submit(workers, step)] = name
            submitted += 1
        return submitted

    def collect(self, future: Future, workers: ThreadPoolExecutor, claims: dict) -> None:
        """A step attempt ended: retry it, or record how it ended."""
        name = self.running.pop(future)
        step = self.steps[name]
        outcome: Outcome = future.result()
        self.attempts[name] = self.attempts.get(name, 0) + 1
        if not outcome.ok and self.attempts[name] <= step.retries:
            self.running[self._submit(workers, step, self.attempts[name] + 1)] = name
            return
        self._finish(step, outcome, self.attempts[name])
        fingerprint = self.claimed.pop(name, None)
        if fingerprint is not None and claims.get(fingerprint) == self.run.id:
            del claims[fingerprint]
        if self.stopped_at is not None:
            self._skip_after_stop()

    # --- one step ------------------------------------------------------------------------
    def _fingerprint(self, step: Step) -> str:
        inputs = self.cache.input_hashes(step, {u: self.run.path for u in step.upstream})
        parts = self.cache.parts(step, inputs, self.where.image(step))
        self.records.parts[step.name] = parts
        self.records.data_files[step.name] = self.cache.step_files(step, parts)
        return parts.fingerprint()

    def _try_cache(self, step: Step) -> bool:
        forced = step.name in self.forced
        if not step.cache or (forced and self.fresh_from is None):
            return False
        parts = self.records.parts[step.name]
        hit = self.cache.find(step, parts)
        for name, message in self.cache.warnings:
            self.records.warn(name, f"{message}; running the step again")
        self.cache.warnings.clear()
        if hit is None or (forced and hit.run.id not in self.fresh_from):
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

    def _skip_after_stop(self) -> None:
        """Run All runs nothing after a cell that calls `sys.exit(0)`: neither do we."""
        for name in list(self.pending):
            if self.steps[name].first_cell > self.stopped_at:
                self.pending.remove(name)
                message = f"not run: the notebook stops at cell {self.stopped_at} (sys.exit)"
                self.results[name] = self.records.skipped(name, message, stopped=True)

    def _skip(self, step: Step, failed_upstream: list[str]) -> None:
        message = f"upstream failed: {', '.join(failed_upstream)}"
        self.results[step.name] = self.records.skipped(step.name, message)


def _stopped(result: StepResult) -> bool:
    return result.status == "skipped" and bool((result.error or {}).get("stopped"))
