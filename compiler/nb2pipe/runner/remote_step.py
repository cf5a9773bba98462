"""What a cluster worker does for one step, whatever the engine (Dask today, Ray tomorrow).

The coordinator sends a `StepTask`; the worker runs it as every cluster component runs a step:
the launcher (`nb2pipe.exports.launch.run_step`, papermill on the step notebook) in a run folder
laid out as the local runner's. Where that run folder is depends on the workspace:

- a workspace at a URL (`Storage`): a private scratch folder; the upstream artifacts the step
  reads are downloaded into it first (each checked against its manifest's sha256), and the
  step's folder is published back at the end, its manifest last;
- a local or shared path: the coordinator's run folder itself, which the worker must see at
  the same path (a shared file system, or workers on the coordinator's machine).

The cache is the coordinator's business: a worker only runs what it is sent.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import executed as executed_notebook
from .storage import Storage

STEP_NOTEBOOK = "step.ipynb"


@dataclass
class StepTask:
    step: str
    notebook: str  # the step notebook's JSON text
    kernel: str
    parameters: dict[str, Any]
    run_id: str
    run_dir: str  # the coordinator's run folder (used as is without storage)
    cwd: str  # the source notebook's folder, where relative data paths resolve
    storage: Storage | None = None
    inputs: list[str] = field(default_factory=list)  # producers whose artifacts the step reads
    env: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None
    reusable: bool = True  # False: the step changes global settings; its kernel is retired


def run_task(task: StepTask, kernels=None) -> dict[str, Any]:
    """Run `task` here; return ``{"ok", "start", "end", "error", "stopped", "host"}``.

    Never raises for a failing step. With `kernels` (warm kernels kept on this worker, as
    `execute.run_notebook` takes them) the step runs in one of them; else the launcher starts
    a kernel for it. Either way papermill runs in this process, so it is imported once per
    worker, not once per step; the kernel gets the step's environment and working directory
    without this process changing its own.
    """
    start = time.time()
    scratch = Path(tempfile.mkdtemp(prefix=f"nb2pipe-{task.step}-"))
    try:
        run = scratch / "run" if task.storage is not None else Path(task.run_dir)
        step_dir = run / task.step
        step_dir.mkdir(parents=True, exist_ok=True)
        if task.storage is not None:
            for producer in task.inputs:
                task.storage.get_artifacts(task.run_id, producer, run / producer / "artifacts")
        if kernels is not None:
            error = _in_warm_kernel(task, run, scratch, kernels)
        else:
            error = _launch(task, run, scratch)
        if task.storage is not None:
            task.storage.put_step(step_dir, task.run_id, task.step)
        executed = step_dir / "notebook.ipynb"
        stopped = executed_notebook.stopped_at(executed) if error is None else None
        return _result(error is None, start, error, stopped)
    except Exception as e:  # staging or publishing failed: the step did not happen
        message = f"step {task.step!r} on {socket.gethostname()}: {type(e).__name__}: {e}"
        return _result(False, start, {"message": message.splitlines()[0]})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _in_warm_kernel(task: StepTask, run: Path, scratch: Path, kernels) -> dict[str, Any] | None:
    """The step notebook in a warm kernel; None if it succeeded, else the error."""
    import json

    from .execute import run_notebook

    env = {**task.env, "NB2PIPE_STEP": task.step, "NB2PIPE_RUN_DIR": str(run)}
    outcome = run_notebook(
        json.loads(task.notebook),
        task.step,
        task.parameters,
        run,
        kernels,
        env,
        kernel_name=task.kernel,
        timeout=task.timeout,
        reusable=task.reusable,
        cwd=task.cwd if Path(task.cwd).is_dir() else str(scratch),
    )
    return None if outcome.ok else dict(outcome.error or {"message": "failed"})


def _launch(task: StepTask, run: Path, scratch: Path) -> dict[str, Any] | None:
    """The launcher on the step notebook; None if it succeeded, else the error."""
    from ..exports.launch import StepError, run_step

    notebook = scratch / STEP_NOTEBOOK
    notebook.write_text(task.notebook, encoding="utf-8")
    step_dir = run / task.step
    executed = step_dir / "notebook.ipynb"
    env = {**task.env, "NB2PIPE_STEP": task.step, "NB2PIPE_RUN_DIR": str(run)}
    cwd = task.cwd if Path(task.cwd).is_dir() else str(scratch)
    with open(step_dir / "log.txt", "w", encoding="utf-8") as log:
        try:
            run_step(
                task.step,
                notebook,
                parameters=task.parameters,
                run_dir=run,
                executed=executed,
                kernel=task.kernel,
                timeout=task.timeout,
                env=env,
                log=log,
                cwd=cwd,
            )
        except StepError as e:
            failure = executed_notebook.failure(executed)
            return failure.as_error() if failure else {"message": str(e)}
        except Exception as e:  # a dead kernel, a timeout, a kernel that never started
            died = type(e).__name__ == "DeadKernelError"
            message = "the kernel died (killed, or out of memory)" if died else f"{e}"
            return {
                "message": f"step {task.step!r}: {message}".splitlines()[0],
                "cell": executed_notebook.last_started(executed),
                "ename": type(e).__name__,
                "evalue": str(e),
            }
    return None


def _result(ok: bool, start: float, error: dict | None, stopped: int | None = None) -> dict:
    return {
        "ok": ok,
        "start": start,
        "end": time.time(),
        "error": error,
        "stopped": stopped,
        "host": socket.gethostname(),
    }
