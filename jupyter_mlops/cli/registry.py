"""`nb2pipe publish` and `nb2pipe promote`: the registry's way in, and its gate."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from nb2pipe.cli.options import source_arg, workspace_opt
from nb2pipe.errors import Nb2PipeError


@click.command()
@source_arg
@click.option("--name", required=True, help="Registered model name.")
@click.option("--run", "run_id", metavar="RUN", help="nb2pipe run id (default: the latest).")
@click.option("--step", help="Step whose artifact is the model (default: found by type).")
@click.option("--artifact", help="Variable holding the model (default: found by type).")
@click.option("--metric", help="The metric the model gate compares.")
@workspace_opt
def publish(source, name, run_id, step, artifact, metric, workspace):
    """Publish the model of a finished run: registered, documented, aliased `challenger`."""
    from jupyter_mlops.registry.publish_run import publish_from_run, serve_cells_since
    from jupyter_mlops.tracking.config import tracking_uri
    from nb2pipe.errors import warning_line
    from nb2pipe.runner import load_pipeline
    from nb2pipe.runner.workspaces import open_workspace

    pipeline, notebook = load_pipeline(source)
    space = open_workspace(workspace, notebook)
    if run_id:
        run = space.run(run_id)
    else:
        done = [r for r in space.all_runs(pipeline.name) if r.info().get("status") == "succeeded"]
        run = done[0] if done else None
    if run is None:
        raise Nb2PipeError(
            f"no finished run {run_id or ''} of this pipeline: nb2pipe run it first",
            file=str(source),
        )
    changed = serve_cells_since(pipeline, run)
    if changed:
        click.echo(warning_line(str(source), None, changed), err=True)
    published = publish_from_run(
        run,
        name,
        step=step,
        artifact=artifact,
        metric=metric,
        tracking_uri=tracking_uri(notebook.parent),
    )
    if published.already:
        click.echo(
            f"already published: {published.name} version {published.version} is this very "
            f"model ({published.already}); nothing added"
        )
        return
    click.echo(
        f"published {published.name} version {published.version} "
        f"(alias {published.alias}) from run {run.id}"
    )


@click.command()
@click.argument("name")
@click.option("--metric", required=True, help="Metric compared between challenger and champion.")
@click.option("--lower-is-better", is_flag=True, help="Smaller values win (losses, errors).")
@click.option(
    "--threshold",
    type=float,
    default=0.0,
    show_default=True,
    help="Margin the challenger must win by.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Decide, change nothing; exit 1 if the challenger would not be promoted.",
)
@click.option("--slices", metavar="COL[,COL]", help="Also compare them on each slice of these.")
@click.option("--data", type=click.Path(path_type=Path), help="With --slices: held-out rows.")
@click.option("--target", metavar="COLUMN", help="With --slices: the label column of --data.")
@click.option("--min-rows", type=click.IntRange(min=1), default=30, show_default=True, help="With --slices: smaller slices are not judged.")  # fmt: skip
@click.option("--slice-threshold", type=float, default=0.0, show_default=True, help="With --slices: how much a slice may drop.")  # fmt: skip
@click.option(
    "--check",
    "run_checks",
    is_flag=True,
    help="Run the pre-deployment checks on the challenger first; a failed check stops it.",
)
@click.option(
    "--latency-budget-ms",
    type=click.FloatRange(0, None, min_open=True),
    help="With --check: the p99 1-row latency allowed (default: 1.5x the champion's).",
)
def promote(name, metric, lower_is_better, threshold, dry_run, slices, data, target, min_rows,
            slice_threshold, run_checks, latency_budget_ms):  # fmt: skip
    """The model gate: move alias `champion` to the `challenger` only when it wins (with
    --slices: and drops on no slice of --data by more than --slice-threshold; with --check:
    and passes the pre-deployment checks first)."""
    from jupyter_mlops.registry.promote import CHALLENGER
    from jupyter_mlops.registry.promote import promote as gate
    from jupyter_mlops.tracking.config import tracking_uri

    if latency_budget_ms is not None and not run_checks:
        raise Nb2PipeError("--latency-budget-ms needs --check")
    if run_checks:
        from jupyter_mlops.serving.deploy_check import check

        report = check(
            f"{name}@{CHALLENGER}", tracking_uri=tracking_uri(), budget_ms=latency_budget_ms
        )
        if not report.ok:
            for line in report.lines():
                click.echo(f"error: {line}", err=True)
            click.echo(
                f"{name} version {report.model.version} stays challenger: "
                f"{len(report.failed)} pre-deployment check(s) failed"
            )
            sys.exit(1)
    table = None
    if slices:
        from jupyter_mlops.retrain.slices import registry_slices

        columns = [c.strip() for c in slices.split(",") if c.strip()]
        table = registry_slices(name, metric, columns, data, target, min_rows,
                                not lower_is_better, tracking_uri())  # fmt: skip
    decision = gate(
        name,
        metric,
        greater_is_better=not lower_is_better,
        threshold=threshold,
        tracking_uri=tracking_uri(),
        dry_run=dry_run,
        slices=table,
        slice_threshold=slice_threshold,
    )
    click.echo(str(decision))
    if dry_run and not decision.promoted:
        sys.exit(1)
