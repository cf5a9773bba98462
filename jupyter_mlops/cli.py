"""The MLOps commands of `nb2pipe`: validate, serve, watch, schedule, publish, promote.

They join nb2pipe's command line through the ``nb2pipe.commands`` entry-point group (see
pyproject.toml), so nb2pipe itself never imports jupyter_mlops; each imports the service it
drives when it runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from nb2pipe.cli.options import (
    notebook_arg,
    params_opt,
    parse_params,
    relative,
    run_observers,
    source_arg,
    workspace_opt,
)
from nb2pipe.errors import Nb2PipeError


@click.command("validate")
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "--schema",
    required=True,
    type=click.Path(path_type=Path),
    help="The schema file (NOTEBOOK's name + .schema.yaml by convention).",
)
@click.option("--infer", is_flag=True, help="Write the schema inferred from DATA instead.")
@click.option(
    "--ranges",
    type=click.Choice(["quantile", "minmax", "none"]),
    default="quantile",
    show_default=True,
    help="With --infer: range checks from the 0.1%/99.9% quantiles, the min/max, or none.",
)
@click.option(
    "--margin",
    type=float,
    default=None,
    help="With --infer: widen each range by this share of its span on both sides "
    "(default 1 for quantile ranges, 0 for minmax).",
)
@click.option(
    "--unseen",
    default="0.001",
    show_default=True,
    help="With --infer: unseen categories: 'error', 'warn' or the share allowed.",
)
def validate_command(
    data: Path, schema: Path, infer: bool, ranges: str, margin: float | None, unseen: str
) -> None:
    """Check DATA (.csv, .parquet, .jsonl, a prediction log) against a schema (exit 0 or 2)."""
    from jupyter_mlops.data.validation import (
        DataValidationError,
        read_data,
        save_schema,
        validate_frame,
    )

    frame = read_data(data)
    if infer:
        try:
            policy: str | float = unseen if unseen in ("error", "warn") else float(unseen)
        except ValueError:
            raise Nb2PipeError(f"--unseen {unseen}: use error, warn or a share") from None
        options = {"ranges": None if ranges == "none" else ranges, "margin": margin}
        path = save_schema(frame, schema, unseen=policy, **options)
        click.echo(f"wrote {path}: the schema of {len(frame)} rows, {len(frame.columns)} columns")
        return
    report = validate_frame(frame, schema)
    if report.ok:
        click.echo(f"ok: {data}: {report.summary()}")
        return
    for problem in report.problems:
        click.echo(f"  {problem}")
    raise DataValidationError(report).located(str(data))


@click.command("serve")
@click.argument("model", metavar="MODEL[@ALIAS]")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=5001,
    show_default=True,
    help="Port to listen on.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--log",
    "log",
    type=click.Path(path_type=Path),
    default=Path("predictions.jsonl"),
    show_default=True,
    help="Where each prediction's inputs and outputs are appended (JSON lines).",
)
@click.option(
    "--tracking-uri",
    metavar="URI",
    help="The registry (default: as configured); credentials go in the environment.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, None),
    default=10.0,
    show_default=True,
    help="Seconds a client may take to send a request it started (slower ones are closed).",
)
@click.option(
    "--log-max-bytes",
    type=click.IntRange(1024, None),
    default=64 * 1024 * 1024,
    show_default=True,
    help="Past this size the log is moved aside as a numbered part and a new one starts.",
)
def serve_command(
    model: str,
    port: int,
    host: str,
    log: Path,
    tracking_uri: str | None,
    timeout: float,
    log_max_bytes: int,
) -> None:
    """Serve a registered model over REST (MLflow's protocol); log every prediction.

    MODEL is NAME (its champion), NAME@ALIAS or NAME/VERSION. Stop with Ctrl-C or SIGTERM.
    """
    from jupyter_mlops.serving.server import serve
    from jupyter_mlops.tracking.redact import refuse_credentials

    refuse_credentials("--tracking-uri", tracking_uri)
    serve(
        model,
        host=host,
        port=port,
        log=log,
        tracking_uri=tracking_uri,
        timeout=timeout,
        log_max_bytes=log_max_bytes,
        echo=click.echo,
    )


@click.command("watch")
@notebook_arg
@params_opt
@click.option("--data", type=click.Path(path_type=Path), help="Run when files land here.")
@click.option(
    "--log",
    "--drift-log",
    "log",
    type=click.Path(path_type=Path),
    help="The prediction log of `nb2pipe serve` (for --reference and --metric).",
)
@click.option(
    "--reference",
    type=click.Path(path_type=Path),
    help="Run when the served inputs drift from this data (.csv, .parquet, .jsonl).",
)
@click.option("--alpha", type=float, help="Drift: p-value below which a test rejects.")
@click.option("--psi", type=float, help="Drift: least PSI of a drifted feature.")
@click.option(
    "--min-rows",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Drift: served rows needed before drift is tested.",
)
@click.option("--metric", help="Run when this live metric of the served model degrades.")
@click.option("--below", type=float, help="With --metric: run when it falls below this.")
@click.option("--above", type=float, help="With --metric: run when it rises above this.")
@click.option("--window", default="1h", show_default=True, help="With --metric: time window.")
@click.option(
    "--min-labels",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="With --metric: labelled predictions needed in the window before it is judged.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.2),
    default=60.0,
    show_default=True,
    help="Seconds between checks.",
)
@click.option("--max-runs", type=click.IntRange(min=1), help="Stop after this many runs.")
@click.option("--once", is_flag=True, help="Check once, run if triggered, stop.")
@workspace_opt
def watch_command(
    notebook,
    params,
    data,
    log,
    reference,
    alpha,
    psi,
    min_rows,
    metric,
    below,
    above,
    window,
    min_labels,
    interval,
    max_runs,
    once,
    workspace,
):
    """Re-run the pipeline when new data lands, served inputs drift or the live metric drops.

    Every check is logged, one line each. Stops on Ctrl-C / SIGTERM, after --max-runs runs,
    or after one check with --once; exit 1 if the last run failed.
    """
    from jupyter_mlops.retrain.triggers import DriftTrigger, MetricTrigger, NewFiles
    from jupyter_mlops.retrain.watch import Watcher, watch_until_signal
    from nb2pipe.runner import load_pipeline

    if (reference or metric) and log is None:
        raise Nb2PipeError("--reference and --metric need --log, the prediction log to read")
    if (below is not None or above is not None) and not metric:
        raise Nb2PipeError("--below and --above need --metric")
    pipeline, _ = load_pipeline(notebook)
    values = parse_params(params, pipeline)
    triggers = []
    if data is not None:
        triggers.append(NewFiles(data))
    if reference is not None:
        triggers.append(
            DriftTrigger(log, reference, alpha=alpha, psi_threshold=psi, min_rows=min_rows)
        )
    if metric:
        triggers.append(
            MetricTrigger(
                log, metric, below=below, above=above, window=window, min_count=min_labels
            )
        )
    watcher = Watcher(
        notebook,
        triggers,
        interval=interval,
        max_runs=max_runs,
        once=once,
        params=values,
        workspace=workspace,
        observers=run_observers(notebook),
        echo=click.echo,
    )
    results = watch_until_signal(watcher)
    if results and not results[-1].ok:
        sys.exit(1)


@click.command("schedule")
@notebook_arg
@click.option("--cron", required=True, metavar='"M H DOM MON DOW"', help="When, in UTC.")
@params_opt
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Default: .github/workflows/nb2pipe-schedule-<pipeline>.yml in the project root.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing, different workflow.")
def schedule_command(notebook: Path, cron: str, params, output: Path | None, force: bool) -> None:
    """Write a CI workflow (GitHub Actions) that runs the pipeline on a cron schedule."""
    from jupyter_mlops.retrain.schedule import write_schedule

    path = write_schedule(notebook, cron, output=output, params=list(params), force=force)
    click.echo(f"wrote {relative(path)}: runs {notebook} on cron {cron!r} (UTC)")


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
    from jupyter_mlops.registry.publish_run import publish_from_run
    from jupyter_mlops.tracking.config import tracking_uri
    from nb2pipe.runner import load_pipeline
    from nb2pipe.runner.rundir import Workspace

    pipeline, notebook = load_pipeline(source)
    space = Workspace.at(workspace, notebook)
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
            f"model (the same {published_artifact(run, step, artifact)}); nothing added"
        )
        return
    click.echo(
        f"published {published.name} version {published.version} "
        f"(alias {published.alias}) from run {run.id}"
    )


def published_artifact(run, step: str | None, artifact: str | None) -> str:
    """`artifact` of step `step` as a user reads it (found by type when not named)."""
    from jupyter_mlops.registry.publish_run import find_model

    if step is None or artifact is None:
        step, artifact = find_model(run)
    return f"artifact {artifact!r} of step {step!r}"


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
def promote(name, metric, lower_is_better, threshold, dry_run, slices, data, target, min_rows,
            slice_threshold):  # fmt: skip
    """The model gate: move alias `champion` to the `challenger` only when it wins (with
    --slices: and drops on no slice of --data by more than --slice-threshold)."""
    from jupyter_mlops.registry.promote import promote as gate
    from jupyter_mlops.tracking.config import tracking_uri

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
