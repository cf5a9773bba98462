"""What a run writes about each step as it goes: `meta.json`, and the events observers get.

The scheduler decides; `StepRecords` writes down what happened — started, finished, failed,
reused, skipped — so that the run folder and the observers always tell the same story.
"""

from __future__ import annotations

import shutil
import time

from ..artifacts import read_manifest
from ..compile.ir import Step
from . import events as ev
from .execute import Outcome
from .fingerprint import Parts
from .results import StepResult
from .rundir import RunDir, seal


class StepRecords:
    def __init__(self, run: RunDir, emit: ev.Broadcaster):
        self.run = run
        self.emit = emit
        self.parts: dict[str, Parts] = {}  # each step's fingerprint parts, once computed
        self.data_files: dict[str, dict] = {}  # each step's data files: sha256 and size

    def started(self, step: Step, attempt: int) -> StepResult:
        step_dir = self.run.step_dir(step.name)
        # A killed or failed earlier attempt may have left files: start from an empty folder.
        shutil.rmtree(step_dir, ignore_errors=True)
        step_dir.mkdir(parents=True)
        result = StepResult(
            step.name,
            "running",
            fingerprint=self.parts[step.name].fingerprint(),
            notebook=self.run.notebook(step.name),
        )
        self.write_meta(step.name, result, start=time.time(), attempt=attempt)
        self.emit(ev.Event(ev.STEP_STARTED, self.run.id, step.name, {"attempt": attempt}))
        return result

    def finished(self, result: StepResult, outcome: Outcome, attempts: int, written: dict):
        result.duration = outcome.end - outcome.start
        times = {"start": outcome.start, "end": outcome.end, "attempts": attempts}
        if "worker" in outcome.extra:  # the cluster worker that ran it (dask.py)
            times["worker"] = outcome.extra["worker"]
        if outcome.ok:
            result.status = "done"
            self.collect(result)
            self.write_meta(result.name, result, **times, files_written=written)
            seal(self.run.step_dir(result.name))
            self.emit(ev.Event(ev.STEP_FINISHED, self.run.id, result.name, {"result": result}))
        else:
            result.status = "failed"
            result.error = outcome.error
            self.write_meta(result.name, result, **times)
            self.emit(ev.Event(ev.STEP_FAILED, self.run.id, result.name, {"result": result}))

    def cached(self, result: StepResult, files_written: dict) -> None:
        self.collect(result)
        self.write_meta(result.name, result, files_written=files_written)
        seal(self.run.step_dir(result.name))
        self.emit(ev.Event(ev.STEP_CACHED, self.run.id, result.name, {"result": result}))

    def skipped(self, name: str, message: str, **detail) -> StepResult:
        result = StepResult(name, "skipped", error={"message": message, **detail})
        shutil.rmtree(self.run.step_dir(name), ignore_errors=True)
        self.write_meta(name, result)
        self.emit(ev.Event(ev.STEP_SKIPPED, self.run.id, name, {"result": result}))
        return result

    def warn(self, step: str | None, message: str, cell: int | None = None) -> None:
        self.emit(ev.Event(ev.WARNING, self.run.id, step, {"cell": cell, "message": message}))

    def collect(self, result: StepResult) -> None:
        manifest = read_manifest(self.run.path, result.name) or {}
        result.metrics = dict(manifest.get("metrics", {}))
        result.artifacts = dict(manifest.get("artifacts", {}))
        for hazard in manifest.get("warnings", []):
            data = {"cell": hazard.get("cell"), "message": hazard.get("message", "")}
            self.emit(ev.Event(ev.WARNING, self.run.id, result.name, data))

    def write_meta(self, name: str, result: StepResult, **extra) -> None:
        meta = (self.run.meta(name) or {}) if result.status != "running" else {}
        parts = self.parts.get(name)
        meta.update(
            step=name,
            status=result.status,
            duration=round(result.duration, 3),
            fingerprint=result.fingerprint,
            cache_hit=result.cache_hit,
            cached_from=result.cached_from,
            error=result.error,
            notebook="notebook.ipynb" if result.notebook else None,
            parts=parts.to_dict() if parts else None,
            data_files=self.data_files.get(name),
            **extra,
        )
        if result.status == "cached":
            meta.pop("start", None)
            meta.pop("end", None)
        self.run.step_dir(name).mkdir(parents=True, exist_ok=True)
        self.run.write_meta(name, meta)
