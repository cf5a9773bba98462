"""The MLOps commands of `nb2pipe`: validate, watch, schedule here; serve (serving.py);
publish, promote (registry.py); deploy, rollout, rollback, history (delivery.py); score
(scoring.py).

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
@click.option(
    "--skew",
    is_flag=True,
    help="Run when the features the serve cells computed while serving (sampled in --log) "
    "diverge from the training features the served version was published with.",
)
@click.option("--alpha", type=float, help="Drift: p-value below which a test rejects.")
@click.option("--psi", type=float, help="Drift: least PSI of a drifted feature.")
@click.option("--min-rows", type=click.IntRange(min=1), default=30, show_default=True, help="Drift: served rows needed before drift is tested.")  # fmt: skip
@click.option("--metric", help="Run when this live metric of the served model degrades.")
@click.option("--below", type=float, help="With --metric: run when it falls below this.")
@click.option("--above", type=float, help="With --metric: run when it rises above this.")
@click.option("--window", default="1h", show_default=True, help="With --metric: time window.")
@click.option("--min-labels", type=click.IntRange(min=1), default=10, show_default=True, help="With --metric: labelled predictions a window needs to be judged.")  # fmt: skip
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
    skew,
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
    """Re-run the pipeline when new data lands, served inputs drift, the features computed
    while serving diverge from training (--skew) or the live metric drops.

    Every check is logged, one line each. Stops on Ctrl-C / SIGTERM, after --max-runs runs,
    or after one check with --once; exit 1 if the last run failed.
    """
    from jupyter_mlops.retrain.skew import SkewTrigger
    from jupyter_mlops.retrain.triggers import DriftTrigger, MetricTrigger, NewFiles
    from jupyter_mlops.retrain.watch import Watcher, watch_until_signal
    from jupyter_mlops.tracking.config import tracking_uri
    from nb2pipe.runner import load_pipeline

    if (reference or metric or skew) and log is None:
        raise Nb2PipeError("--reference, --skew and --metric need --log, the prediction log")
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
    if skew:
        triggers.append(SkewTrigger(log, alpha, psi, min_rows, tracking_uri(notebook.parent)))
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
