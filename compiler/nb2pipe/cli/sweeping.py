"""`nb2pipe sweep`: many runs of the pipeline over parameter values, sharing their common steps."""

from __future__ import annotations

import sys

import click

from .group import main
from .options import relative, source_arg, workspace_opt


@main.command()
@source_arg
@click.option(
    "-p",
    "--param",
    "pairs",
    nargs=2,
    multiple=True,
    metavar="NAME VALUES",
    help="A parameter and its values: 0.1,1,10 (listed) or 0.001..10[:log] (a range, for "
    "--random and --optuna). Repeatable; one value fixes a parameter for every trial.",
)
@click.option("--random", "random_n", type=click.IntRange(min=1), metavar="N",
              help="N trials drawn at random (default: the whole grid).")  # fmt: skip
@click.option("--optuna", "optuna_n", type=click.IntRange(min=1), metavar="N",
              help="N trials chosen by Optuna (TPE), pruned on intermediate reports.")  # fmt: skip
@click.option("--metric", metavar="M", help="The metric that ranks trials (default: the only one).")
@click.option("--direction", type=click.Choice(["max", "min"]), default="max", show_default=True,
              help="Whether the best trial has the highest or the lowest --metric.")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True, help="Of --random and --optuna.")
@click.option("--max-parallel", type=click.IntRange(min=1), help="Steps at once, across trials.")
@click.option("--force", is_flag=True, help="Ignore earlier results (shared steps still run once).")
@click.option(
    "--executor",
    metavar="dask[://HOST:PORT]",
    help="Run the steps on a Dask cluster (dask: a local one); default: this machine.",
)
@workspace_opt
def sweep(source, pairs, random_n, optuna_n, metric, direction, seed, max_parallel, force,
          executor, workspace):  # fmt: skip
    """Run the pipeline over a grid, random draws or Optuna's choices of parameter values.

    Steps that use none of the swept parameters run once for all trials; the rest fan out in
    parallel. Each trial is a run of its own; the best by --metric is printed.
    """
    from ..runner import load_pipeline
    from ..runner.events import plugged_in
    from ..runner.progress import SweepPrinter, WarningPrinter, trial_line
    from ..sweep import run_sweep

    if random_n and optuna_n:
        raise click.UsageError("--random and --optuna: choose one")
    mode, trials = (
        ("random", random_n) if random_n else ("optuna", optuna_n) if optuna_n else ("grid", None)
    )
    try:
        result = run_sweep(
            *load_pipeline(source),
            list(pairs),
            mode=mode,
            trials=trials,
            metric=metric,
            direction=direction,
            seed=seed,
            max_parallel=max_parallel,
            isolation=executor or "kernel",
            workspace=workspace,
            force=force,
            observers=[SweepPrinter(), WarningPrinter(str(source), once=True), *plugged_in()],
        )
    except KeyboardInterrupt:
        click.echo(
            "interrupted: each trial's run can be resumed with nb2pipe run --resume", err=True
        )
        sys.exit(130)
    best = result.best
    if best is not None:
        click.echo(f"best: {trial_line(best, result.metric)}")
    elif result.metric is None:
        click.echo("no best trial: give --metric to rank the trials")
    counts = ", ".join(f"{n} {s}" for s, n in sorted(result.counts().items()))
    click.echo(
        f"sweep {result.id} {result.status}: {len(result.trials)} trials ({counts}) in "
        f"{result.duration:.1f}s: {relative(result.path)}"
    )
    if result.status != "succeeded":
        sys.exit(1)
