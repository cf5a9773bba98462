"""`run_sweep`: the trials of a sweep as one schedule over the steps they share.

Every trial is an ordinary pipeline run (its own run folder, resumable, comparable), but all of
them go through one `Scheduler`: one pool of warm kernels (or one Dask cluster), `max_parallel`
steps at once across trials, and one claims table. A step whose fingerprint is the same in two
trials — it uses none of the swept parameters, and its inputs are the same — executes in the
first trial that needs it; the others wait for it and take it from the cache (their run folders
say "cached from run …"). So a grid over the parameters of `train` runs `load` and `features`
once, then fans `train` and what follows out over the trials.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..compile.ir import Pipeline
from ..errors import Nb2PipeError, ParameterError
from ..runner import events as ev
from ..runner.isolation import Isolation, default_parallel
from ..runner.isolation import isolation as isolation_named
from ..runner.run import PipelineRun
from ..runner.rundir import Workspace
from ..runner.scheduler import Scheduler
from ..runner.source import resolve_params
from ..runner.workspaces import open_workspace
from ..trial import PRUNE, read_reports
from .records import SweepResult, new_sweep_dir
from .search import GridSearch, OptunaSearch, RandomSearch, Search, Trial
from .space import Space, parse_space

MODES = ("grid", "random", "optuna")


def run_sweep(
    pipeline: Pipeline,
    notebook: str | os.PathLike,
    space: Space | list[tuple[str, str]] | dict[str, Any],
    *,
    mode: str = "grid",
    trials: int | None = None,
    metric: str | None = None,
    direction: str = "max",
    seed: int = 0,
    params: dict[str, Any] | None = None,
    max_parallel: int | None = None,
    isolation: str = "kernel",
    workspace: str | os.PathLike | None = None,
    force: bool = False,
    observers: list[ev.Observer] = (),
    trial_observers: Callable[[], list[ev.Observer]] | None = None,
    stop: threading.Event | None = None,
) -> SweepResult:
    """Run the trials of a sweep of `pipeline` (compiled from `notebook`: `load_pipeline`) over
    `space` (`-p NAME VALUES` pairs, or a dict of name → values); return them, with the best by
    `metric` (`direction` "max" or "min").

    `params` (typed: `typed_values`) fixes other parameters for every trial. `observers` get every event of the sweep
    and of its trials; `trial_observers()` makes observers for one trial (MLflow tracking).
    """
    if mode not in MODES:
        raise Nb2PipeError(f"unknown sweep {mode!r} (one of: {', '.join(MODES)})")
    if direction not in ("max", "min"):
        raise Nb2PipeError(f"--direction {direction}: max or min")
    if mode == "optuna" and not metric:
        raise Nb2PipeError("--optuna needs --metric: the metric Optuna optimises")
    if mode != "grid" and (trials is None or trials < 1):
        raise Nb2PipeError(f"--{mode} N: the number of trials, at least 1")
    notebook = Path(notebook).resolve()
    if not isinstance(space, Space):
        space = parse_space(pipeline, space)
    base = resolve_params(pipeline, params)
    overlap = set(space.names) & set(params or {})
    if overlap:
        raise ParameterError(f"-p {sorted(overlap)[0]}: both swept and fixed")
    metric = _metric(pipeline, metric, notebook)
    search = _search(mode, space, trials, direction, seed, max_parallel)
    planned = search.planned()
    if mode == "grid" and not planned:
        raise ParameterError("the grid is empty: no combination to run")
    home = open_workspace(workspace, notebook)
    strategy = isolation_named(isolation)
    parallel = max(1, max_parallel or default_parallel(strategy, pipeline))
    where = strategy(pipeline, notebook, home.root, parallel, home.storage)
    folder = new_sweep_dir(home.root)
    sweep = SweepResult(
        folder.name,
        folder,
        pipeline.name,
        notebook,
        search.name,
        metric,
        direction,
        [],
        space=[d.to_dict() for d in space.dimensions],
    )
    emit = ev.Broadcaster(list(observers))
    messages, one_at_a_time = _hazards(pipeline, space.names)
    for message in messages:
        emit(ev.Event(ev.WARNING, sweep.id, data={"cell": None, "message": message}))
    sweep.save()
    data = {"sweep": sweep, "pipeline": pipeline, "source": notebook, "planned": planned}
    emit(ev.Event(ev.SWEEP_STARTED, sweep.id, data=data))
    trials_ = _Trials(
        sweep,
        search,
        PipelineRunMaker(pipeline, notebook, base, home, where, force),
        emit,
        observers=list(observers),
        trial_observers=trial_observers,
        # Trials begun at once: enough to keep every slot busy while some wait for a shared
        # step (Optuna: as many as run, so that each is asked knowing the most results).
        in_flight=1 if one_at_a_time else parallel if mode == "optuna" else max(4, 2 * parallel),
    )
    status = "failed"
    try:
        Scheduler(where, parallel, stop).run([], trials_.more, trials_.ended)
        stopped = stop is not None and stop.is_set()
        status = (
            "cancelled" if stopped else "succeeded" if sweep.best or _any_ok(sweep) else "failed"
        )
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        sweep.status, sweep.end = status, time.time()
        sweep.save()
        emit(ev.Event(ev.SWEEP_FINISHED, sweep.id, data={"sweep": sweep}))
    return sweep


def _hazards(pipeline, swept: list[str]) -> tuple[list[str], bool]:
    """Warnings about the space, and whether trials must run one after the other: a step that
    writes a file (not an artifact) and computes something else in each trial — it uses a
    swept parameter, or comes after one that does — would let trials read each other's file."""
    messages = [
        f"parameter {name!r} is used by no step: every trial computes the same"
        for name in swept
        if not any(name in step.params for step in pipeline.steps)
    ]
    varying: set[str] = set()
    for step in pipeline.steps:  # upstream first
        if set(step.params) & set(swept) or set(step.upstream) & varying:
            varying.add(step.name)
            if step.files_written:
                messages.append(
                    f"step {step.name!r} writes {step.files_written[0]} and differs between "
                    "trials: the trials run one after the other, so that none reads another's file"
                )
                return messages, True
    return messages, False


def _any_ok(sweep: SweepResult) -> bool:
    return any(t.status == "succeeded" for t in sweep.trials)


def _metric(pipeline, metric: str | None, notebook: Path) -> str | None:
    """The metric that ranks trials: the one asked for (a metric some step records), else the
    pipeline's only metric, else none."""
    declared = sorted({m for step in pipeline.steps for m in step.metrics})
    if metric is None:
        return declared[0] if len(declared) == 1 else None
    if metric not in declared:
        known = ", ".join(declared) or "none: tag a cell `metrics`"
        raise Nb2PipeError(
            f"--metric {metric}: no step records it (metrics: {known})", file=str(notebook)
        )
    return metric


def _search(mode, space, trials, direction, seed, parallel) -> Search:
    if mode == "grid":
        return GridSearch(space)
    if mode == "random":
        return RandomSearch(space, trials, seed)
    return OptunaSearch(space, trials, direction, seed, parallel or os.cpu_count() or 1)


@dataclass
class PipelineRunMaker:
    """What every trial's run shares: one pipeline, one place to run steps, fixed values."""

    pipeline: Pipeline
    notebook: Path
    base: dict[str, Any]
    workspace: Workspace
    where: Isolation
    force: bool

    def make(self, values: dict[str, Any], observers: list, fresh: set[str], info: dict):
        run = self.workspace.new_run()
        return PipelineRun(
            self.pipeline, self.notebook, {**self.base, **values}, self.workspace,
            run, self.where, observers, force=self.force,
            fresh_from=fresh if self.force else None, info=info,
        )  # fmt: skip


class _Trials:
    """What the scheduler asks of a sweep: the next trials' runs, and each run's end."""

    def __init__(self, sweep, search, runs, emit, *, observers, trial_observers, in_flight):
        self.sweep: SweepResult = sweep
        self.search: Search = search
        self.runs: PipelineRunMaker = runs
        self.emit = emit
        self.observers = observers
        self.trial_observers = trial_observers
        self.in_flight = in_flight
        self.by_run: dict[str, Trial] = {}
        self.own_runs: set[str] = set()  # with --force, results count only if made here
        self.read_at: dict[tuple[str, str], int] = {}  # (run, step) -> bytes of reports read

    def more(self, scheduler: Scheduler) -> list[PipelineRun]:
        if self.search.prunes:
            self._prune(scheduler)
        if scheduler.stop is not None and scheduler.stop.is_set():
            return []
        runs = []
        for trial in self.search.ask(self.in_flight - len(scheduler.active)):
            observers = [*self.observers, *(self.trial_observers() if self.trial_observers else [])]
            info = {"sweep": {"id": self.sweep.id, "trial": trial.number,
                              "dir": str(self.sweep.path)}}  # fmt: skip
            run = self.runs.make(trial.params, observers, self.own_runs, info)
            trial.run_id, trial.status = run.id, "running"
            self.sweep.trials.append(trial)
            self.by_run[run.id] = trial
            self.own_runs.add(run.id)
            runs.append(run)
        if runs:
            self.sweep.save()
        return runs

    def ended(self, run: PipelineRun) -> None:
        trial = self.by_run[run.id]
        result = run.result
        trial.status = result.status
        if result.ok and self.sweep.metric is not None:
            trial.value = result.metrics.get(self.sweep.metric)
        self.search.tell(trial)
        self.sweep.save()
        self.emit(ev.Event(ev.TRIAL_ENDED, run.id, data={"trial": trial, "sweep": self.sweep}))

    def _prune(self, scheduler: Scheduler) -> None:
        """Hand the metric's new intermediate values of running trials to the search; leave
        the prune mark in the run of a trial it stops (its next report ends the step)."""
        metric = self.sweep.metric
        for run in scheduler.active:
            trial = self.by_run.get(run.id)
            flag = run.run.path / PRUNE
            if trial is None or flag.exists():
                continue
            for step in run.running.values():
                key = (run.id, step)
                reports, self.read_at[key] = read_reports(
                    run.run.step_dir(step), self.read_at.get(key, 0)
                )
                for number, values in reports:
                    if metric in values and self.search.report(trial, number, values[metric]):
                        flag.write_text(
                            f"pruned by the sweep at step {number} ({metric} = "
                            f"{values[metric]:.6g})\n",
                            encoding="utf-8",
                        )
                        break
