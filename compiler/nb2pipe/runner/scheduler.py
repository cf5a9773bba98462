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
import shutil
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__, pipeline_file
from ..artifacts import read_manifest
from ..errors import Nb2PipeError, ParameterError, StepFailed, os_problem
from ..ir import Pipeline, Step
from ..parameters import suggestion
from . import events as ev
from .cache import StepCache
from .execute import Outcome, run_step
from .fingerprint import Parts
from .rundir import DONE, RunDir, Workspace, process_alive, process_marks, seal


@dataclass
class StepResult:
    name: str
    status: str  # done | cached | failed | skipped | interrupted
    duration: float = 0.0
    fingerprint: str | None = None
    cached_from: str | None = None
    error: dict | None = None
    notebook: Path | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    artifacts: dict[str, dict] = field(default_factory=dict)

    @property
    def cache_hit(self) -> bool:
        return self.status == "cached"


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    pipeline: Pipeline
    params: dict[str, Any]
    status: str  # succeeded | failed | interrupted
    steps: dict[str, StepResult]
    start: float
    end: float
    source: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for result in self.steps.values():
            out.update(result.metrics)
        return out

    def failure(self) -> StepFailed | None:
        """The first failed step as a one-line error: step, cell, executed notebook to open."""
        for result in self.steps.values():
            if result.status == "failed":
                error = result.error or {}
                where = os.path.relpath(result.notebook) if result.notebook else "?"
                return StepFailed(
                    f"step {result.name!r} failed: {error.get('message', 'unknown error')} "
                    f"(open {where})",
                    file=str(self.source) if self.source else None,
                    cell=error.get("cell"),
                )
        return None


def load_pipeline(source: str | os.PathLike | Pipeline) -> tuple[Pipeline, Path]:
    """The pipeline and its source notebook's path, from a notebook or a pipeline.yaml."""
    if isinstance(source, Pipeline):
        return source, Path(source.source).resolve()
    path = Path(source)
    if path.suffix in (".yaml", ".yml"):
        try:
            pipeline = pipeline_file.load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise Nb2PipeError("no such file", file=str(path)) from None
        except (OSError, UnicodeDecodeError) as e:
            raise Nb2PipeError(f"cannot read it ({e})", file=str(path)) from None
        except Nb2PipeError as e:
            raise e.located(str(path)) from None
        return pipeline, (path.parent / pipeline.source).resolve()
    from ..compile import compile_notebook

    return compile_notebook(path), path.resolve()


def typed_params(pipeline: Pipeline, stored: dict[str, Any]) -> dict[str, Any]:
    """Parameter values read back from run.json (JSON) with their declared types again."""
    types = {p.name: p.type for p in pipeline.params}
    out = {}
    for name, value in stored.items():
        if name not in types:
            continue  # the notebook dropped it since: the resume check compares the rest
        if types[name] == "tuple" and isinstance(value, list):
            value = tuple(value)
        elif types[name] == "set" and isinstance(value, list):
            value = set(value)
        out[name] = value
    return out


def resolve_params(pipeline: Pipeline, overrides: dict[str, Any] | None) -> dict[str, Any]:
    values = {p.name: p.value for p in pipeline.params}
    for name, value in (overrides or {}).items():
        if name not in values:
            raise ParameterError(f"unknown parameter {name!r} ({suggestion(name, values)})")
        values[name] = value
    return values


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
    if isolation not in ("kernel", "process", "container"):
        raise Nb2PipeError(f"unknown isolation {isolation!r} (kernel, process or container)")
    notes: list[str] = []
    run = space.run(resume) if resume else None
    if resume and run is None:
        raise Nb2PipeError(f"--resume {resume}: no such run in {space.runs}")
    if run is not None:
        info = run.info()
        if info.get("status") == "running" and process_alive(info) is not False:
            raise Nb2PipeError(f"--resume {resume}: that run is still running")
        # A resumed run keeps its own parameters: other values make it another run.
        own = resolve_params(pipeline, typed_params(pipeline, info.get("params") or {}))
        if params and values != own:
            notes.append(f"other parameters than run {run.id}: started a new run")
            run = None
        else:
            values = own
    if run is None:
        try:
            run = space.new_run()
        except OSError as e:
            raise Nb2PipeError(f"cannot create a run in {space.runs}: {os_problem(e)}") from None
    return _Run(
        pipeline,
        notebook,
        values,
        space,
        run,
        max_parallel or os.cpu_count() or 1,
        force,
        from_step,
        only,
        isolation,
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
        self.isolation = isolation
        self.emit = ev.Broadcaster(list(observers))
        self.cache = StepCache(space, pipeline, notebook, params)
        self.results: dict[str, StepResult] = {}
        self.parts: dict[str, Parts] = {}
        self.engine: str | None = None
        self.images: dict[str, str] = {}  # step -> image, with --isolation container
        self.pool = None
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
            "params": {k: _plain(v) for k, v in self.params.items()},
            "steps": self.selected,
            "status": "running",
            "start": start,
            "nb2pipe": __version__,
            "isolation": self.isolation,
            "max_parallel": self.max_parallel,
            **process_marks(),
        }
        from ..notebook import write_atomic

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
            if self.pool is not None:
                self.pool.shutdown()
            end = time.time()
            info.update(status=status, end=end, duration=end - start)
            try:
                for name, result in self.results.items():
                    if result.status == "running":
                        result.status = "interrupted"
                        self._write_meta(name, result)
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
        if self.isolation == "container":
            from .container import prepare_images

            self.engine, self.images = prepare_images(self.pipeline, self.notebook, self.space.root)
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
                    self._ensure_pool(pending + [name])
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
                if self.pool is not None:
                    self.pool.expect(sum(1 for n in pending if self._may_run(n)))
        except BaseException:
            # Ctrl-C (or any error) while steps run: stop their kernels *before* waiting for
            # the workers. Joining first (as `with ThreadPoolExecutor` did) held Ctrl-C until
            # every running step had finished, and let an "interrupted" step write its outputs.
            if self.pool is not None:
                self.pool.shutdown()
            if self.isolation == "container":
                from .container import stop_containers

                stop_containers()
            raise
        finally:
            workers.shutdown(wait=True)

    def _may_run(self, name: str) -> bool:
        return name not in self.results

    def _ensure_pool(self, remaining: list[str]) -> None:
        if self.isolation == "container":
            return  # steps run in their images: no kernel here
        if self.pool is None:
            from .kernels import KernelPool

            warmup = "\n".join(c.source for c in self.pipeline.imports)
            warmup += "\nfrom nb2pipe import artifacts as _nb2pipe_artifacts\n"
            if any("pandas" in s.imports for s in self.pipeline.steps):
                # DataFrames travel as Parquet: pay pyarrow's ~0.5 s import before, not in, a step.
                warmup += "import pyarrow.parquet\n"
            self.pool = KernelPool(
                self.pipeline.kernel,
                str(self.notebook.parent),
                warmup,
                self.max_parallel,
                fresh=self.isolation == "process",
            )
            # papermill costs ~3 s to import: do it while the kernels start.
            threading.Thread(target=_import_papermill, daemon=True).start()
        self.pool.expect(len(remaining))

    # --- one step ------------------------------------------------------------------------
    def _try_cache(self, step: Step) -> bool:
        runs = {u: self.run.path for u in step.upstream}
        inputs = self.cache.input_hashes(step, runs)
        parts = self.cache.parts(step, inputs, self.images.get(step.name))
        self.parts[step.name] = parts
        if not step.cache or step.name in self.forced:
            return False
        hit = self.cache.find(step, parts)
        self._report_cache_warnings()
        if hit is None:
            return False
        try:
            self.cache.reuse(hit, self.run, step.name)
        except (OSError, Nb2PipeError) as e:
            self.emit(
                ev.Event(
                    ev.WARNING,
                    self.run.id,
                    step.name,
                    {"cell": None, "message": f"could not reuse run {hit.run.id} ({e}); running"},
                )
            )
            return False
        earlier = hit.run.meta(hit.step) or {}
        result = StepResult(
            step.name,
            "cached",
            0.0,
            parts.fingerprint(),
            cached_from=hit.cached_from,
            notebook=self.run.notebook(step.name),
        )
        self._collect(result)
        self.results[step.name] = result
        self._write_meta(step.name, result, files_written=earlier.get("files_written") or {})
        seal(self.run.step_dir(step.name))
        self.emit(ev.Event(ev.STEP_CACHED, self.run.id, step.name, {"result": result}))
        return True

    def _report_cache_warnings(self) -> None:
        for step, message in self.cache.warnings:
            data = {"cell": None, "message": f"{message}; running the step again"}
            self.emit(ev.Event(ev.WARNING, self.run.id, step, data))
        self.cache.warnings.clear()

    def _submit(self, workers: ThreadPoolExecutor, step: Step, attempt: int = 1) -> Future:
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
        self.results[step.name] = result
        self._write_meta(step.name, result, start=time.time(), attempt=attempt)
        env = {"NB2PIPE_RUN_ID": self.run.id}
        for observer in self.emit.observers:
            env.update(getattr(observer, "step_env", lambda _name: {})(step.name))
        self.emit(ev.Event(ev.STEP_STARTED, self.run.id, step.name, {"attempt": attempt}))
        if self.isolation == "container":
            from .container import run_step_in_container

            return workers.submit(
                run_step_in_container,
                self.pipeline,
                step,
                self.params,
                self.run.path,
                self.images[step.name],
                self.engine,
                env,
            )
        return workers.submit(
            run_step, self.pipeline, step, self.params, self.run.path, self.pool, env
        )

    def _finish(self, step: Step, outcome: Outcome, attempts: int) -> None:
        result = self.results[step.name]
        result.duration = outcome.end - outcome.start
        stopped = outcome.extra.get("stopped")
        if outcome.ok and stopped is not None:
            self.stopped_at = stopped
        if outcome.ok:
            result.status = "done"
            self._collect(result)
            self._write_meta(
                step.name,
                result,
                start=outcome.start,
                end=outcome.end,
                attempts=attempts,
                files_written=self.cache.written(step),
            )
            seal(self.run.step_dir(step.name))
            if step.cache and stopped is None:
                self.cache.remember(self.parts[step.name], self.run, step.name)
            self.emit(ev.Event(ev.STEP_FINISHED, self.run.id, step.name, {"result": result}))
        else:
            result.status = "failed"
            result.error = outcome.error
            self._write_meta(
                step.name, result, start=outcome.start, end=outcome.end, attempts=attempts
            )
            self.emit(ev.Event(ev.STEP_FAILED, self.run.id, step.name, {"result": result}))

    def _skip_after_stop(self, pending: list[str]) -> None:
        """Run All runs nothing after a cell that calls `sys.exit(0)`: neither do we."""
        for name in list(pending):
            step = self.pipeline.step(name)
            if step.first_cell > self.stopped_at:
                pending.remove(name)
                message = f"not run: the notebook stops at cell {self.stopped_at} (sys.exit)"
                result = StepResult(name, "skipped", error={"message": message, "stopped": True})
                self.results[name] = result
                self._write_meta(name, result)
                self.emit(ev.Event(ev.STEP_SKIPPED, self.run.id, name, {"result": result}))

    @staticmethod
    def _stopped(result: StepResult) -> bool:
        return result.status == "skipped" and bool((result.error or {}).get("stopped"))

    def _skip(self, step: Step, failed_upstream: list[str]) -> None:
        result = StepResult(
            step.name,
            "skipped",
            error={"message": f"upstream failed: {', '.join(failed_upstream)}"},
        )
        self.results[step.name] = result
        shutil.rmtree(self.run.step_dir(step.name), ignore_errors=True)
        self._write_meta(step.name, result)
        self.emit(ev.Event(ev.STEP_SKIPPED, self.run.id, step.name, {"result": result}))

    def _collect(self, result: StepResult) -> None:
        manifest = read_manifest(self.run.path, result.name) or {}
        result.metrics = dict(manifest.get("metrics", {}))
        result.artifacts = dict(manifest.get("artifacts", {}))
        for hazard in manifest.get("warnings", []):
            data = {"cell": hazard.get("cell"), "message": hazard.get("message", "")}
            self.emit(ev.Event(ev.WARNING, self.run.id, result.name, data))

    def _write_meta(self, name: str, result: StepResult, **extra) -> None:
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
            **extra,
        )
        if result.status == "cached":
            meta.pop("start", None)
            meta.pop("end", None)
        self.run.step_dir(name).mkdir(parents=True, exist_ok=True)
        self.run.write_meta(name, meta)


class _Cancelled(Exception):
    """The caller set the run's `stop` event."""


def _import_papermill() -> None:
    try:
        from .execute import import_papermill

        import_papermill()
        import papermill.engines  # noqa: F401
    except Exception:
        pass  # the step that needs it reports the real error


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, (tuple, set, frozenset)) else value
