"""Run one step notebook with papermill in a given kernel, and explain a failure in one line."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..build import RUN_DIR_PARAM, step_notebook
from ..ir import Pipeline, Step
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
    papermill = import_papermill()
    import nbformat
    from papermill.exceptions import PapermillExecutionError

    from ..engine import register

    register()
    out = run_dir / step.name / "notebook.ipynb"
    log_path = run_dir / step.name / "log.txt"
    notebook = nbformat.from_dict(step_notebook(pipeline, step))
    parameters = {name: params[name] for name in step.params}
    parameters[RUN_DIR_PARAM] = str(run_dir)
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
            papermill.execute_notebook(
                notebook,
                None,
                parameters=parameters,
                engine_name="nb2pipe",
                km=kernel.km,
                keep=executed,
                partial_output_path=str(out),
                prepare_code=pool.prepare_code(step.name, str(run_dir), env),
                kernel_name=pipeline.kernel,
                progress_bar=False,
                log_output=False,
                stdout_file=log,
                stderr_file=log,
                execution_timeout=step.timeout,
                request_save_on_cell_execute=False,
            )
        _write_executed(executed, out)
        stopped = _stopped_at(out)
        return Outcome(True, start, time.time(), extra={"stopped": stopped} if stopped else {})
    except PapermillExecutionError:
        _write_executed(executed, out)
        failure = _first_error(out)
        if failure is None:  # only cells tagged raises-exception raised, as their author expects
            _drop_error_banner(out)
            return Outcome(True, start, time.time())
        cell, ename, evalue = failure
        located = re.match(r"cell (\d+): ", evalue or "")
        if cell is None and located:  # a check of the save cell names the step's cell
            cell, evalue = int(located.group(1)), evalue[located.end() :]
        message = f"{ename}: {evalue}".strip().rstrip(":")
        return Outcome(
            False,
            start,
            time.time(),
            {"message": message, "cell": cell, "ename": ename, "evalue": evalue},
        )
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
                "cell": _failed_cell(out, last_started=died),
                "ename": name,
                "evalue": str(e),
            },
            kernel_died=died,
        )
    finally:
        if kernel is not None:
            # A step that changed global settings would leak them into the next step there.
            pool.release(kernel, healthy=healthy and not step.changes_settings)


def _write_executed(executed: list, path: Path) -> None:
    if executed:
        import nbformat

        from ..notebook import write_atomic

        write_atomic(path, nbformat.writes(executed[-1]))


def import_papermill():
    """Import papermill without the ~1 s nbformat spends on an optional jsonschema format.

    jsonschema builds an RFC 3987 grammar (`rfc3987_syntax`) for "iri" formats that notebook
    schemas never use; marking that optional module absent skips it (FACTS.md). Done only if
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


def _error_cells(executed: Path) -> list[dict]:
    import json

    try:
        nb = json.loads(executed.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return nb.get("cells", [])


def _first_error(executed: Path) -> tuple[int | None, str, str] | None:
    """(source cell, ename, evalue) of the first error not expected by a raises-exception tag."""
    for cell in _error_cells(executed):
        if "raises-exception" in cell.get("metadata", {}).get("tags", []):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                number = (cell.get("metadata", {}).get("nb2pipe") or {}).get("cell")
                return number, output.get("ename", ""), output.get("evalue", "")
    return None


def _stopped_at(executed: Path) -> int | None:
    """The cell that ended the notebook with `sys.exit(0)` (papermill: not an error)."""
    for cell in _error_cells(executed):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") == "SystemExit":
                return (cell.get("metadata", {}).get("nb2pipe") or {}).get("cell") or 0
    return None


def _drop_error_banner(executed: Path) -> None:
    """papermill marks any error output as a failure and prepends a banner saying so."""
    import json

    from ..notebook import dumps, write_atomic

    try:
        nb = json.loads(executed.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    marker = "papermill-error-cell-tag"
    nb["cells"] = [
        c for c in nb.get("cells", []) if marker not in c.get("metadata", {}).get("tags", [])
    ]
    write_atomic(executed, dumps(nb))


def _failed_cell(executed: Path, last_started: bool = False) -> int | None:
    """The source-notebook number of the cell that failed, read from the executed notebook:
    the cell with an error output, or (a dead kernel leaves none) the last cell that started."""
    import json

    try:
        nb = json.loads(executed.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    started = None
    for cell in nb.get("cells", []):
        number = (cell.get("metadata", {}).get("nb2pipe") or {}).get("cell")
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return number
        if cell.get("execution_count") is not None and number is not None:
            started = number
    return started if last_started else None
