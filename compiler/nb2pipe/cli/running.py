"""Commands that run a pipeline locally or say what a run would do: run, status."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import Nb2PipeError, warning_line
from .group import main
from .options import (
    params_opt,
    parse_params,
    raw_opt,
    relative,
    run_observers,
    source_arg,
    workspace_opt,
)


@main.command()
@source_arg
@params_opt
@raw_opt
@click.option(
    "--max-parallel",
    type=click.IntRange(min=1),
    help="Steps at once (default: cores; on a Dask cluster, as many as are ready).",
)
@click.option("--force", is_flag=True, help="Run every step, ignoring the cache.")
@click.option("--resume", metavar="RUN", help="Continue RUN (with its parameters).")
@click.option("--from", "from_step", metavar="STEP", help="Re-run STEP and everything after it.")
@click.option("--only", metavar="STEP", help="Run only STEP, on cached upstream results.")
@click.option(
    "--like",
    metavar="RUN",
    help="Repeat RUN: its parameters, refused if a data file it read has changed since.",
)
@click.option(
    "--isolation",
    type=click.Choice(["kernel", "process", "container"]),
    default="kernel",
    help="kernel: warm kernels reset between steps; process: a new kernel per step; "
    "container: each step in its own image (podman or docker; base image from "
    "$NB2PIPE_BASE_IMAGE, default python:3.11-slim).",
)
@click.option(
    "--executor",
    metavar="dask[://HOST:PORT]",
    help="Run the steps on a Dask cluster (dask: a local one); default: executor in "
    "[tool.jupyter-mlops], else this machine.",
)
@workspace_opt
def run(source, params, raw_params, max_parallel, force, resume, from_step, only, like,
        isolation, executor, workspace):  # fmt: skip
    """Compile and run the pipeline locally: parallel, cached, resumable."""
    from ..runner import load_pipeline, run_pipeline
    from ..runner.settings import setting

    pipeline, notebook = load_pipeline(source)
    values = parse_params(params, pipeline, raw_params)
    info = None
    if like is not None:
        if params or raw_params or resume:
            raise click.UsageError("--like RUN takes that run's parameters: no -p, -r or --resume")
        values, info = _like(like, pipeline, notebook, workspace, str(source))
    if executor is None and isolation == "kernel" and notebook is not None:
        executor = setting(notebook, "executor")
    if executor is not None:
        if isolation != "kernel":
            raise click.UsageError("--executor and --isolation cannot be combined")
        _check_executor(executor)
        isolation = executor
    observers = run_observers(source)
    try:
        result = run_pipeline(
            pipeline,
            notebook,  # relative data paths resolve against the notebook's folder
            params=values,
            max_parallel=max_parallel,
            force=force,
            resume=resume,
            from_step=from_step,
            only=only,
            isolation=isolation,
            workspace=workspace,
            observers=observers,
            info=info,
        )
    except KeyboardInterrupt:
        click.echo(
            "interrupted: resume with `nb2pipe run --resume <run-id>` (see .nb2pipe/runs)", err=True
        )
        sys.exit(130)
    counts: dict[str, int] = {}
    for step in result.steps.values():
        counts[step.status] = counts.get(step.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    click.echo(
        f"run {result.run_id} {result.status} in {result.duration:.1f}s ({summary}): "
        f"{relative(result.run_dir)}"
    )
    for line in where_to_look(result, observers):
        click.echo(f"  {line}")
    from ..runner.rundir import RunDir

    for note in (RunDir(result.run_dir).info().get("pending") or {}).values():
        click.echo(f"pending: {note}")  # e.g. MLflow logging, in the background
    failure = result.failure()
    if failure is not None:
        failure.file = str(source)
        raise failure


def where_to_look(result, observers) -> list[str]:
    """What a run computed and where to see more: its metrics, the executed notebooks, and
    what the observers say (MLflow: `mlflow ui …`)."""
    lines = []
    if result.metrics:
        shown = ", ".join(f"{name} {_number(value)}" for name, value in result.metrics.items())
        lines.append(f"metrics: {shown}")
    lines.append(f"executed notebooks: {relative(result.run_dir)}/<step>/notebook.ipynb")
    for observer in observers:
        lines += getattr(observer, "where_to_look", list)()
    return lines


def _number(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _like(like: str, pipeline, notebook, workspace, source: str):
    """The parameters of run `like` and the note for run.json, once its data is checked."""
    from ..runner.history import changed_code, check_like, find_run
    from ..runner.source import typed_params
    from ..runner.workspaces import open_workspace

    space = open_workspace(workspace, notebook)
    earlier = find_run(space, like, "--like")
    recorded = earlier.info()
    if Path(recorded.get("source") or "").resolve() != notebook:
        raise Nb2PipeError(
            f"--like {earlier.id}: that run is of {recorded.get('source')}, not this notebook",
            file=source,
        )
    check_like(earlier, notebook.parent)
    for step in changed_code(earlier, pipeline):
        click.echo(warning_line(source, None, f"--like {earlier.id}: step {step!r}: its code "
                                "changed since that run"), err=True)  # fmt: skip
    return typed_params(pipeline, recorded.get("params") or {}), {"like": earlier.id}


@main.command()
@source_arg
@params_opt
@raw_opt
@workspace_opt
def status(source, params, raw_params, workspace):
    """Say per step whether the next run would execute it, and why; and which data files
    changed since the latest run."""
    from ..runner import load_pipeline
    from ..runner.history import data_changes
    from ..runner.status import pending, step_status
    from ..runner.workspaces import open_workspace

    pipeline, notebook = load_pipeline(source)
    values = parse_params(params, pipeline, raw_params)
    rows = step_status(pipeline, notebook, values, workspace)
    width = max(len(r["step"]) for r in rows)
    for row in rows:
        verdict = "would run" if row["run"] else "up to date"
        click.echo(f"{row['step']:<{width}}  {verdict:<10}  {'; '.join(row['reasons'])}")
    for note in pending(pipeline, notebook, workspace):
        click.echo(note)
    for change in data_changes(open_workspace(workspace, notebook), notebook):
        click.echo(f"data: {change.message}")


@main.command()
@click.argument("run_a", metavar="RUN_A")
@click.argument("run_b", metavar="RUN_B")
@workspace_opt
def diff(run_a, run_b, workspace):
    """List what differs between two runs: parameters, code step by step, data files by
    hash, environment, metrics (exit 0 when they are the same, 1 when they differ)."""
    from ..runner.history import diff_runs, find_run
    from ..runner.rundir import WORKSPACE, Workspace, project_root

    space = Workspace(Path(workspace)) if workspace else None
    space = space or Workspace(project_root(Path.cwd() / "notebook.ipynb") / WORKSPACE)
    difference = diff_runs(find_run(space, run_a, "diff"), find_run(space, run_b, "diff"))
    for line in difference.lines():
        click.echo(line)
    if not difference.same:
        sys.exit(1)


def _check_executor(executor: str) -> None:
    """An executor of no known kind is refused naming the option and the value given (the
    isolation table would only name its kind)."""
    from ..runner.isolation import ISOLATIONS

    try:
        ISOLATIONS.get(executor.partition("://")[0])
    except Nb2PipeError as e:
        raise Nb2PipeError(f"--executor {executor}: {e}") from None
