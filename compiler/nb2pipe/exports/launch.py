"""Run one step notebook with papermill: the command of every step image.

``python -m nb2pipe.exports.launch --step NAME --notebook STEP.ipynb [options]``

The step notebook reads its inputs from and writes its outputs to a run directory laid out as
the local runner's (``<run>/<step>/artifacts/``). Inside a local container run that directory
is the real run directory, mounted (``--run-dir``). On a cluster every input artifact arrives
at some path of the engine's choosing (``--input PRODUCER PATH``): they are linked into a
private run directory, and the step's artifacts folder is copied to the engine's output path
(``--output PATH``) at the end. Either way the notebook and its artifacts are the local ones.

Only the standard library is imported here until papermill runs, since this module is part of
the runtime copied into step images.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from nb2pipe import executed as executed_notebook  # copied into every image with this file

RUN_DIR_PARAM = (
    "nb2pipe_run_dir"  # = nb2pipe.compile.build.RUN_DIR_PARAM (not importable in images)
)
EXIT_STEP_FAILED = 1


class StepError(Exception):
    """The step's notebook raised: the message is one line, ready to print."""


def missing_module(module: str, distribution: str | None = None) -> str:
    """What to tell a user whose step imports a module its image does not have."""
    return (
        f"module {module!r} is not in the step's requirements "
        f"(add a requirements:{distribution or module} tag)"
    )


def missing_module_name(ename: str | None, evalue: str | None) -> str | None:
    """The top-level module of a ModuleNotFoundError's message, else None."""
    if ename != "ModuleNotFoundError":
        return None
    found = re.search(r"No module named '([^']+)'", evalue or "")
    return found.group(1).partition(".")[0] if found else None


def explain(step: str, ename: str | None, evalue: str | None) -> str:
    """The one-line message for a step whose notebook raised `ename: evalue`."""
    module = missing_module_name(ename, evalue)
    if module is not None:
        return f"step {step!r}: {missing_module(module)}"
    return f"step {step!r} failed: {ename}: {evalue}".rstrip(": ")


def convert(kind: str, raw: str) -> Any:
    """A parameter value given on the command line, back to its declared type."""
    if kind == "str":
        return raw
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            number = float(raw)  # an engine may write integers as "4.0"
            if not number.is_integer():
                raise
            return int(number)
    if kind == "float":
        return float(raw)
    if kind == "bool":
        if raw.lower() in ("true", "1", "yes"):
            return True
        if raw.lower() in ("false", "0", "no"):
            return False
        raise ValueError(f"not a boolean: {raw!r}")
    if kind == "json":
        return json.loads(raw)
    raise ValueError(f"unknown parameter kind {kind!r}")


def run_step(
    step: str,
    notebook: str | os.PathLike,
    *,
    parameters: dict[str, Any] | None = None,
    inputs: dict[str, str] | None = None,
    output: str | os.PathLike | None = None,
    run_dir: str | os.PathLike | None = None,
    executed: str | os.PathLike | None = None,
    kernel: str = "python3",
    timeout: float | None = None,
    env: dict[str, str] | None = None,
    log: TextIO | None = None,
    cwd: str | os.PathLike | None = None,
) -> None:
    """Execute the step notebook with papermill; raise `StepError` if a cell raised.

    `env` is added to the kernel's environment and `cwd` is its working directory (neither
    touches this process: a Dask worker runs several steps at once); `log` receives what the
    notebook prints (default: this process's stdout and stderr).
    """
    private = run_dir is None
    run = Path(tempfile.mkdtemp(prefix="nb2pipe-run-") if private else run_dir).resolve()
    try:
        for producer, path in (inputs or {}).items():
            (run / producer).mkdir(parents=True, exist_ok=True)
            os.symlink(Path(path).resolve(), run / producer / "artifacts")
        (run / step).mkdir(parents=True, exist_ok=True)
        values = {**(parameters or {}), RUN_DIR_PARAM: str(run)}
        out = executed or run / step / "notebook.ipynb"
        _execute(step, notebook, out, values, kernel, timeout, env, log, cwd)
        if output is not None:
            shutil.copytree(run / step / "artifacts", output, dirs_exist_ok=True)
    finally:
        if private:
            shutil.rmtree(run, ignore_errors=True)


def _execute(step, notebook, executed, parameters, kernel, timeout, env, log, cwd) -> None:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    extra = {}
    if env or cwd or log:
        extra["kernel_manager_class"] = _kernel_manager(env or {}, cwd, log)
    try:
        papermill.execute_notebook(
            str(notebook),
            str(executed),
            parameters=parameters,
            kernel_name=kernel,
            progress_bar=False,
            stdout_file=log or sys.stdout,
            stderr_file=log or sys.stderr,
            execution_timeout=timeout,
            request_save_on_cell_execute=False,
            **extra,
        )
    except PapermillExecutionError as e:
        failure = executed_notebook.failure(Path(executed))
        if failure is None:  # only cells tagged raises-exception raised, as expected
            executed_notebook.drop_error_banner(Path(executed))
            return
        raise StepError(explain(step, failure.ename or e.ename, failure.evalue)) from None


def _kernel_manager(env: dict[str, str], cwd: str | os.PathLike | None, log: TextIO | None):
    """A kernel manager class starting kernels with `env` added, in `cwd`, their own output
    (start-up warnings) into `log`."""
    from jupyter_client.manager import AsyncKernelManager

    class StepKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw):
            kw["env"] = {**(kw.get("env") or os.environ), **env}
            if cwd is not None:
                kw["cwd"] = str(cwd)
            if log is not None:
                kw["stdout"] = kw["stderr"] = log
            return await super().start_kernel(**kw)

    return StepKernelManager


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nb2pipe.exports.launch", description=__doc__)
    parser.add_argument("--step", required=True, help="the step's name")
    parser.add_argument("--notebook", required=True, help="the step notebook to execute")
    parser.add_argument(
        "--param",
        nargs=3,
        action="append",
        default=[],
        metavar=("NAME", "KIND", "VALUE"),
        help="a parameter; KIND is str, int, float, bool or json",
    )
    parser.add_argument("--parameters", default="{}", help="parameters as one JSON object")
    parser.add_argument(
        "--input",
        nargs=2,
        action="append",
        default=[],
        metavar=("PRODUCER", "PATH"),
        help="the artifacts folder of an upstream step",
    )
    parser.add_argument("--output", help="where to copy this step's artifacts folder")
    parser.add_argument("--run-dir", help="an existing run directory to read and write in")
    parser.add_argument("--executed", help="where to write the executed notebook")
    parser.add_argument("--kernel", default="python3")
    parser.add_argument("--timeout", type=float, help="seconds allowed per cell")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    parameters = json.loads(args.parameters)
    for name, kind, raw in args.param:
        parameters[name] = convert(kind, raw)
    try:
        run_step(
            args.step,
            args.notebook,
            parameters=parameters,
            inputs=dict(args.input),
            output=args.output,
            run_dir=args.run_dir,
            executed=args.executed,
            kernel=args.kernel,
            timeout=args.timeout,
        )
    except StepError as e:
        print(f"nb2pipe: {e}", file=sys.stderr)
        return EXIT_STEP_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
