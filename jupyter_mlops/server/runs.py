"""Pipeline runs started from the sidebar: start, live status, cancel; past runs from disk.

A run goes on in a background thread through `run_pipeline`, like `nb2pipe run`: its observers
are a `LiveRun` (step status in memory, served by GET runs/<id>) and the MLflow tracker. Cancel
sets the run's `stop` event. Runs this server did not start (the CLI's, the magics') are read
from their run directory.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import tornado

from jupyter_mlops.server.base import ApiError, MlopsHandler, ServerState, one_line, safe
from jupyter_mlops.server.live import ACTIVE, LiveRun, artifacts_of, error_of, step_entry
from jupyter_mlops.server.paths import find_run, relative, resolve, run_id, workspace_for
from jupyter_mlops.tracking.names import name_of_run

KEEP_FINISHED = 200  # finished runs kept in memory; older ones are still read from disk
START_TIMEOUT = 120.0  # seconds for run_pipeline to create the run directory


# --- starting a run ----------------------------------------------------------------------


def prepare(notebook: Path, given: object):
    """The notebook compiled, once, and the request's parameter values typed like its
    parameters cell declares them (`typed_values`, as `nb2pipe run -p`: strings are read as
    literals, never evaluated; JSON values must have the declared type)."""
    from nb2pipe.compile.parameters import typed_values
    from nb2pipe.errors import ParameterError
    from nb2pipe.runner import load_pipeline

    if given is not None and not isinstance(given, dict):
        raise ApiError(400, "params: an object of parameter name → value")
    pipeline, notebook = load_pipeline(notebook)
    try:
        return pipeline, notebook, typed_values(pipeline.params, given or {})
    except ParameterError as e:
        raise ApiError(400, str(e)) from None


def tracker(state: ServerState):
    """The MLflow observer, pointed at the server's store; None when tracking is off."""
    try:
        from jupyter_mlops.tracking import observer as tracking
    except ImportError:
        return None
    if tracking.observer() is None:  # NB2PIPE_NO_TRACKING
        return None
    # In-process even for a fully cached run: the server has (or will have) mlflow loaded.
    return tracking.MlflowTracker(state.tracking_uri, detach=False)


def execute(live: LiveRun, state: ServerState, options: dict[str, Any], log) -> None:
    """The background thread of one run."""
    from nb2pipe.runner import run_pipeline

    track = tracker(state)
    observers = [live] + ([track] if track is not None else [])
    try:
        result = run_pipeline(observers=observers, stop=live.stop, **options)
    except BaseException as e:
        message = one_line(safe(str(e), state.root))
        if not live.started.done():
            live.started.set_exception(e)
        else:
            log.error("mlops: run %s failed: %s", live.run_id, message)
        live.finish("failed", message)
        return
    mlflow_run_id = getattr(track, "mlflow_run_id", None)
    failure = result.failure()
    error = one_line(safe(str(failure), state.root)) if failure else None
    live.finish(result.status, error, mlflow_run_id)


class RunsHandler(MlopsHandler):
    """POST runs: start a run; GET runs?path=: the notebook's past runs, newest first."""

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.body()
        notebook = resolve(self.state.root, body.get("path"))
        resume = body.get("resume")
        force = body.get("force", False)
        if not isinstance(force, bool):
            raise ApiError(400, "force: true or false")
        pipeline, notebook, params = await self.blocking(prepare, notebook, body.get("params"))
        options = {"pipeline": pipeline, "notebook": notebook, "params": params, "force": force}
        if resume:
            options["resume"] = run_id(resume, "resume")
        live = LiveRun(self.state.root, notebook)
        thread = threading.Thread(
            target=execute,
            args=(live, self.state, options, self.log),
            name="mlops-run",
            daemon=True,
        )
        thread.start()
        try:
            started = await asyncio.wait_for(asyncio.wrap_future(live.started), START_TIMEOUT)
        except TimeoutError:
            live.stop.set()
            raise ApiError(504, "the run did not start in time; see the server log") from None
        self._remember(started, live)
        self.reply({"run_id": started}, status=202)

    def _remember(self, name: str, live: LiveRun) -> None:
        state = self.state
        with state.lock:
            state.runs[name] = live
            finished = [k for k, r in state.runs.items() if r.status not in ACTIVE]
            for old in finished[: max(0, len(finished) - KEEP_FINISHED)]:
                del state.runs[old]

    @tornado.web.authenticated
    async def get(self) -> None:
        path = self.get_query_argument("path", None)
        notebook = resolve(self.state.root, path) if path else None
        limit = self.int_argument("max_results", 50, 1, 1000)
        runs = await self.blocking(past_runs, self.state.root, notebook, limit)
        self.reply({"runs": runs})


def past_runs(root: Path, notebook: Path | None, limit: int) -> list[dict[str, Any]]:
    """Runs in the workspace (of `notebook`'s project, only those of `notebook`), newest first."""
    out = []
    for run in workspace_for(root, notebook).all_runs():
        info = run.info()
        if not info:
            continue
        source = info.get("source")
        if notebook is not None and (not source or Path(source).resolve() != notebook):
            continue
        out.append(
            {
                "run_id": run.id,
                "name": name_of_run(run.path, info),
                "pipeline": info.get("pipeline"),
                "status": info.get("status"),
                "path": relative(root, source),
                "start": info.get("start"),
                "end": info.get("end"),
                "params": info.get("params") or {},
                "mlflow_run_id": info.get("mlflow_run_id"),
            }
        )
        if len(out) >= limit:
            break
    return out


def from_disk(root: Path, run) -> dict[str, Any]:
    """GET runs/<id> for a run this server did not start: read its run directory."""
    from nb2pipe.artifacts import read_manifest

    info = run.info()
    steps, metrics = [], {}
    for name in info.get("steps") or []:
        meta = run.meta(name)
        if meta is None:
            steps.append(step_entry(name, "pending"))
            continue
        manifest = read_manifest(run.path, name) or {}
        metrics.update(manifest.get("metrics", {}))
        notebook = run.notebook(name)
        steps.append(
            {
                **step_entry(name, meta.get("status", "pending")),
                "duration": meta.get("duration"),
                "error": error_of(meta.get("error"), root),
                "notebook": relative(root, notebook) if notebook.exists() else None,
                "cached_from": meta.get("cached_from"),
                "artifacts": artifacts_of(manifest.get("artifacts", {})),
            }
        )
    out = {
        "run_id": run.id,
        "name": name_of_run(run.path, info),
        "status": info.get("status"),
        "path": relative(root, info.get("source")),
        "params": info.get("params") or {},
        "start": info.get("start"),
        "end": info.get("end"),
        "steps": steps,
        "metrics": metrics,
        "error": None,
    }
    if info.get("mlflow_run_id"):
        out["mlflow_run_id"] = info["mlflow_run_id"]
    return out


class RunHandler(MlopsHandler):
    """GET runs/<id>: live status; DELETE runs/<id>: cancel."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        live = self.state.runs.get(run_id)
        if live is not None:
            self.reply(await self.blocking(live.snapshot))
            return
        run = await self.blocking(
            find_run, self.state, run_id, self.get_query_argument("path", None)
        )
        self.reply(await self.blocking(from_disk, self.state.root, run))

    @tornado.web.authenticated
    def delete(self, run_id: str) -> None:
        live = self.state.runs.get(run_id)
        if live is None:
            raise ApiError(404, f"run {run_id[:80]} was not started by this server")
        self.reply({"status": live.cancel() if live.status in ACTIVE else live.status})
