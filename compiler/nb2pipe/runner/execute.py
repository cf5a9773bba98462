"""Run one step notebook with papermill in a given kernel, and explain a failure in one line."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import executed as executed_notebook
from ..compile.build import RUN_DIR_PARAM, step_notebook
from ..compile.ir import Pipeline, Step
from .kernels import Kernel, KernelPool


@dataclass
class Outcome:
    ok: bool
    start: float
    end: float
    error: dict[str, Any] | None = None  # {"message", "cell", "ename", "evalue"}
    kernel_died: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def run_step(
    pipeline: Pipeline,
    step: Step,
    params: dict[str, Any],
    run_dir: Path,
    pool: KernelPool,
    env: dict[str, str],
) -> Outcome:
    """Acquire a warm kernel, execute the step notebook in it with papermill, release it."""
    return run_notebook(
        step_notebook(pipeline, step),
        step.name,
        {name: params[name] for name in step.params},
        run_dir,
        pool,
        env,
        kernel_name=pipeline.kernel,
        timeout=step.timeout,
        # A step that changed global settings would leak them into the next step there.
        reusable=not step.changes_settings,
    )


def run_notebook(
    notebook: dict,
    step: str,
    parameters: dict[str, Any],
    run_dir: Path,
    pool: KernelPool,
    env: dict[str, str],
    *,
    kernel_name: str,
    timeout: float | None = None,
    reusable: bool = True,
    cwd: str | None = None,
) -> Outcome:
    """Execute the step notebook `notebook` (JSON) in a kernel of `pool`, writing the executed
    notebook and log into ``run_dir/step``; a cluster worker calls this too (remote_step.py).
    `cwd`: the kernel's working directory for this step (default: the pool's)."""
    import_papermill()
    from papermill.exceptions import PapermillExecutionError

    from .engine import execute

    out = run_dir / step / "notebook.ipynb"
    log_path = run_dir / step / "log.txt"
    parameters = {**parameters, RUN_DIR_PARAM: str(run_dir)}
    kernel: Kernel | None = None
    start = time.time()
    healthy = True
    executed: list = []  # the engine hands back the executed notebook: we write it ourselves
    try:
        kernel = pool.acquire()
        start = time.time()
        with open(log_path, "w", encoding="utf-8") as log:
            # No output path for papermill: it would write the notebook in place (a full disk
            # leaves half a file); ours is written atomically below, in success and failure.
            execute(
                notebook,
                parameters,
                kernel_name,
                km=kernel.km,
                keep=executed,
                partial_output_path=str(out),
                prepare_code=pool.prepare_code(step, str(run_dir), env, cwd=cwd),
                progress_bar=False,
                log_output=False,
                stdout_file=log,
                stderr_file=log,
                execution_timeout=timeout,
            )
        _write_executed(executed, out)
        stopped = executed_notebook.stopped_at(out)
        return Outcome(True, start, time.time(), extra={"stopped": stopped} if stopped else {})
    except PapermillExecutionError:
        _write_executed(executed, out)
        failure = executed_notebook.failure(out)
        if failure is None:  # only cells tagged raises-exception raised, as their author expects
            executed_notebook.drop_error_banner(out)
            return Outcome(True, start, time.time())
        return Outcome(False, start, time.time(), failure.as_error())
    except Exception as e:  # a dead kernel, a timeout, a kernel that never started
        healthy = False
        name = type(e).__name__
        died = name == "DeadKernelError" or (kernel is not None and not _alive(kernel))
        message = "the kernel died (killed, or out of memory)" if died else f"{name}: {e}"
        if isinstance(e, OSError) and not died:
            from ..errors import os_problem

            message = os_problem(e)
        return Outcome(
            False,
            start,
            time.time(),
            {
                "message": message,
                "cell": executed_notebook.last_started(out) if died else None,
                "ename": name,
                "evalue": str(e),
            },
            kernel_died=died,
        )
    finally:
        if kernel is not None:
            pool.release(kernel, healthy=healthy and reusable)


def _write_executed(executed: list, path: Path) -> None:
    """The executed notebook, as JSON Jupyter reads: not through `nbformat.writes`, which
    copies and validates the whole notebook first (the engine only added outputs to a
    notebook we built), and without indentation, which Python's JSON encoder writes slowly."""
    if executed:
        import json

        from ..fileio import write_atomic

        text = json.dumps(executed[-1], ensure_ascii=False, separators=(",", ":"))
        write_atomic(path, text + "\n")


def import_papermill():
    """Import papermill without the ~1 s nbformat spends on an optional jsonschema format.

    jsonschema builds an RFC 3987 grammar (`rfc3987_syntax`) for "iri" formats that notebook
    schemas never use (~2.4 s of nbformat's ~2.7 s import); marking that optional module absent
    skips it. Done only if
    nothing imported it yet, so a process that really validates IRIs keeps doing so.
    """
    import sys

    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)
    import papermill

    return papermill


def _alive(kernel: Kernel) -> bool:
    from .kernels import _is_alive

    return _is_alive(kernel)
