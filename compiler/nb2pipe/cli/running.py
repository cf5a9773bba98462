"""Commands that run a pipeline locally or say what a run would do: run, status."""

from __future__ import annotations

import sys

import click

from . import main
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
def run(source, params, raw_params, max_parallel, force, resume, from_step, only, isolation,
        executor, workspace):  # fmt: skip
    """Compile and run the pipeline locally: parallel, cached, resumable."""
    from ..runner import load_pipeline, run_pipeline
    from ..runner.settings import setting

    pipeline, notebook = load_pipeline(source)
    values = parse_params(params, pipeline, raw_params)
    if executor is None and isolation == "kernel" and notebook is not None:
        executor = setting(notebook, "executor")
    if executor is not None:
        if isolation != "kernel":
            raise click.UsageError("--executor and --isolation cannot be combined")
        isolation = executor
    observers = run_observers(source)
    try:
        result = run_pipeline(
            source,  # a path: relative data paths resolve against the notebook's folder
            params=values,
            max_parallel=max_parallel,
            force=force,
            resume=resume,
            from_step=from_step,
            only=only,
            isolation=isolation,
            workspace=workspace,
            observers=observers,
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


@main.command()
@source_arg
@params_opt
@raw_opt
@workspace_opt
def status(source, params, raw_params, workspace):
    """Say per step whether the next run would execute it, and why."""
    from ..runner import load_pipeline
    from ..runner.status import step_status

    pipeline, notebook = load_pipeline(source)
    values = parse_params(params, pipeline, raw_params)
    rows = step_status(pipeline, notebook, values, workspace)
    width = max(len(r["step"]) for r in rows)
    for row in rows:
        verdict = "would run" if row["run"] else "up to date"
        click.echo(f"{row['step']:<{width}}  {verdict:<10}  {'; '.join(row['reasons'])}")
