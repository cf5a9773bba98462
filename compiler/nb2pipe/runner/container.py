"""Run one step in its image (``nb2pipe run --isolation container``).

The step's image (see `nb2pipe.exports.images`) runs the step notebook with papermill through
the same launcher as on a cluster, with the network cut and the run directory mounted at its own
path, so the executed notebook, the log and the artifacts land where the kernel runner puts
them. What differs from a kernel run is the environment: only the step's pinned requirements.
A module missing from them fails here, on the laptop, with a message naming the module.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import executed as executed_notebook
from ..compile.ir import Pipeline, Step
from ..exports.dockerfile import STEP_NOTEBOOK
from ..exports.launch import missing_module, missing_module_name
from ..fileio import plain
from .execute import Outcome
from .isolation import Isolation

# Containers started by this process and still running: name -> engine (see stop_containers).
_running: dict[str, str] = {}
_lock = threading.Lock()
_MISSING_IMAGE = ("image not known", "no such image", "unable to find image")


def run_step_in_container(
    pipeline: Pipeline,
    step: Step,
    params: dict[str, Any],
    run_dir: Path,
    image: str,
    engine: str,
    env: dict[str, str] | None = None,
    workdir: Path | None = None,
) -> Outcome:
    """Execute `step`'s notebook with papermill inside `image`; never raises for a step failure.

    `workdir`, if given, is mounted read-only and made the working directory (a local data
    folder); by default the step sees only the run directory, as it would on a cluster.
    """
    run_dir = Path(run_dir).resolve()
    step_dir = run_dir / step.name
    step_dir.mkdir(parents=True, exist_ok=True)
    executed = step_dir / "notebook.ipynb"
    name = f"nb2pipe-{run_dir.name}-{step.name}-{secrets.token_hex(3)}".replace("_", "-")
    parameters = {p: plain(params[p]) for p in step.params}
    environment = {"NB2PIPE_STEP": step.name, "NB2PIPE_RUN_DIR": str(run_dir), **(env or {})}
    cmd = [engine, "run", "--rm", "--name", name, "--network", "none", "--pull", "never"]
    cmd += ["-v", f"{run_dir}:{run_dir}", *_user_options(engine)]
    for key in sorted(environment):
        # `-e NAME` takes the value from the engine's environment: a value (a tracking URI
        # with a password) never appears on a command line, which every user can read.
        cmd += ["-e", key]
    if workdir is not None:
        workdir = Path(workdir).resolve()
        cmd += ["-v", f"{workdir}:{workdir}:ro", "-w", str(workdir)]
    cmd += [image, "python", "-m", "nb2pipe.exports.launch"]
    cmd += ["--step", step.name, "--notebook", STEP_NOTEBOOK, "--kernel", pipeline.kernel]
    cmd += ["--run-dir", str(run_dir), "--executed", str(executed)]
    cmd += ["--parameters", json.dumps(parameters, sort_keys=True)]
    if step.timeout is not None:
        cmd += ["--timeout", str(step.timeout)]
    log_path = step_dir / "log.txt"
    start = time.time()
    with _lock:
        _running[name] = engine
    try:
        with open(log_path, "w", encoding="utf-8") as log:
            code = subprocess.run(
                cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **environment}
            ).returncode
    except OSError as e:  # the engine itself is missing
        return Outcome(False, start, time.time(), {"message": f"cannot run {engine}: {e}"})
    finally:
        with _lock:
            _running.pop(name, None)
    end = time.time()
    if code == 0:
        return Outcome(True, start, end)
    return Outcome(False, start, end, _error(executed, log_path, image, code))


def prepare_images(
    pipeline: Pipeline,
    notebook: Path,
    workspace: Path,
    *,
    engine: str | None = None,
    base: str | None = None,
    on_step: Callable[[Any], None] = lambda built: None,
) -> tuple[str, dict[str, str]]:
    """Build the step images a container run needs (those missing); return engine and images.

    The build context goes to ``<workspace>/images/<pipeline>/``. The base image is `base`,
    else ``$NB2PIPE_BASE_IMAGE``, else python:3.11-slim.
    """
    from ..exports.dockerfile import DEFAULT_BASE, build_files
    from ..exports.images import build_images, find_engine

    engine = find_engine(engine)
    base = base or os.environ.get("NB2PIPE_BASE_IMAGE") or DEFAULT_BASE
    out_dir = Path(workspace) / "images" / pipeline.name
    files = build_files(pipeline, base, out_dir=out_dir, notebook_path=notebook)
    built = build_images(pipeline, out_dir, files, engine=engine, on_step=on_step)
    return engine, {b.step: b.image for b in built}


def stop_containers() -> None:
    """Stop every step container this process still runs (the run was interrupted)."""
    with _lock:
        running = dict(_running)
    for name, engine in running.items():
        subprocess.run([engine, "rm", "-f", "-t", "0", name], capture_output=True)


def _user_options(engine: str) -> list[str]:
    """Files written in the container belong to the caller, as in a kernel run."""
    if not hasattr(os, "geteuid") or os.geteuid() == 0:
        return []
    if engine == "podman":
        return ["--userns", "keep-id"]  # rootless: the caller's uid inside too
    return ["--user", f"{os.geteuid()}:{os.getegid()}"]


def _error(executed: Path, log_path: Path, image: str, code: int) -> dict[str, Any]:
    """The failure as the kernel runner reports it: one-line message, cell, ename, evalue."""
    failure = executed_notebook.failure(executed)
    cell = failure.cell if failure else None
    if failure is not None:
        module = missing_module_name(failure.ename, failure.evalue)
        error = failure.as_error()
        if module is not None:
            error["message"] = missing_module(module, _distribution(module))
        return error
    lines = [line.strip() for line in _read(log_path).splitlines() if line.strip()]
    last = lines[-1] if lines else f"the container exited with code {code}"
    if not executed.exists() and any(m in line.lower() for line in lines for m in _MISSING_IMAGE):
        last = f"image {image} is not built here (run `nb2pipe build-images`)"
    return {"message": last, "cell": cell, "ename": None, "evalue": None}


def _distribution(module: str) -> str | None:
    """The distribution providing `module` here, to name in a requirements: tag."""
    try:
        from ..exports.requirements import Installed

        providers = Installed().providers(module)
    except Exception:
        return None
    return providers[0] if providers else None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


class Containers(Isolation):
    """Each step in its own image, built first (only those missing)."""

    name = "container"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.engine = ""
        self.images: dict[str, str] = {}

    def prepare(self) -> None:
        self.engine, self.images = prepare_images(self.pipeline, self.notebook, self.workspace)

    def image(self, step: Step) -> str | None:
        return self.images.get(step.name)

    def run(self, step, params, run_dir, env) -> Outcome:
        image = self.images[step.name]
        return run_step_in_container(self.pipeline, step, params, run_dir, image, self.engine, env)

    def shutdown(self) -> None:
        stop_containers()
