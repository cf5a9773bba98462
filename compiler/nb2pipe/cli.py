"""The `nb2pipe` command line: the CI door to the same engine the magics and sidebar use.

Imports stay light here: commands import what they need when they run, so `nb2pipe check` in
a pre-commit hook never pays for papermill or MLflow.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .errors import Nb2PipeError


class _Group(click.Group):
    """Turns our errors into one `error: …` line and an exit code; never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Nb2PipeError as e:
            click.echo(f"error: {e}", err=True)
            ctx.exit(e.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="jupyter-mlops", prog_name="nb2pipe")
def main() -> None:
    """Compile a tagged notebook into a pipeline of standalone step notebooks, and run it."""


notebook_arg = click.argument("notebook", type=click.Path(path_type=Path))


@main.command()
@notebook_arg
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Directory to write into (default: NOTEBOOK's name + '_pipeline', beside it).",
)
def compile(notebook: Path, output: Path | None) -> None:
    """Write pipeline.yaml and one step notebook per step."""
    from .build import write_compiled
    from .compile import compile_notebook

    pipeline = compile_notebook(notebook)
    _warn(pipeline, notebook)
    output = output or default_output(notebook)
    written = write_compiled(pipeline, output, notebook)
    click.echo(f"compiled {len(pipeline.steps)} steps into {output}/ ({len(written)} files)")


def _warn(pipeline, notebook: Path) -> None:
    from .errors import warning_line

    for hazard in pipeline.warnings:
        click.echo(warning_line(str(notebook), hazard.cell, hazard.message), err=True)


def default_output(notebook: Path) -> Path:
    return notebook.with_name(f"{notebook.stem}_pipeline")


@main.command()
@notebook_arg
def show(notebook: Path) -> None:
    """Print the steps, the variables carried between them, the parameters and the graph."""
    from .compile import compile_notebook
    from .show import text

    pipeline = compile_notebook(notebook)
    _warn(pipeline, notebook)
    click.echo(text(pipeline))


@main.command()
@notebook_arg
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    help="json: a machine-readable result for tools and editors.",
)
def check(notebook: Path, fmt: str) -> None:
    """Validate tags and data flow without writing or running anything (exit 0 or 2)."""
    from .compile import compile_notebook
    from .show import summary

    try:
        pipeline = compile_notebook(notebook)
    except Nb2PipeError as e:
        if fmt == "json":
            error = {"file": e.file, "cell": e.cell, "message": e.message, "kind": type(e).__name__}
            click.echo(json.dumps({"ok": False, "error": error}, indent=1))
            sys.exit(e.exit_code)
        raise
    if fmt == "json":
        click.echo(json.dumps(summary(pipeline), indent=1))
        return
    _warn(pipeline, notebook)
    click.echo(f"ok: {notebook}: {len(pipeline.steps)} steps, {len(pipeline.params)} parameters")


@main.command()
def tags() -> None:
    """Print the cell-tag grammar."""
    from .tags import grammar

    for row in grammar():
        aliases = f" (also {', '.join(row['aliases'])})" if row["aliases"] else ""
        click.echo(f"{row['example']:<24} {row['meaning']}{aliases}")


def _parse_params(pairs: tuple[tuple[str, str], ...], pipeline, raw=()) -> dict:
    from .parameters import from_command_line

    return from_command_line(pipeline.params, pairs, raw)


source_arg = click.argument(
    "source", metavar="NOTEBOOK|PIPELINE.YAML", type=click.Path(path_type=Path)
)
params_opt = click.option(
    "-p",
    "--param",
    "params",
    nargs=2,
    multiple=True,
    metavar="NAME VALUE",
    help="Override a parameter (repeatable).",
)


raw_opt = click.option(
    "-r",
    "--param-raw",
    "raw_params",
    nargs=2,
    multiple=True,
    metavar="NAME VALUE",
    help="Set a parameter to VALUE as text, verbatim (papermill's -r).",
)


@main.command()
@source_arg
@params_opt
@raw_opt
@click.option("--max-parallel", type=click.IntRange(min=1), help="Steps at once (default: cores).")
@click.option("--force", is_flag=True, help="Run every step, ignoring the cache.")
@click.option("--resume", metavar="RUN", help="Continue RUN: finished steps are kept.")
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
    "--workspace",
    type=click.Path(path_type=Path),
    help="Where runs and the cache live (default: .nb2pipe in the project root).",
)
def run(
    source, params, raw_params, max_parallel, force, resume, from_step, only, isolation, workspace
):
    """Compile and run the pipeline locally: parallel, cached, resumable."""
    from .runner import load_pipeline, run_pipeline
    from .runner.progress import TerminalProgress, WarningPrinter

    pipeline, _ = load_pipeline(source)
    values = _parse_params(params, pipeline, raw_params)
    observers = [TerminalProgress(), WarningPrinter(str(source)), *_tracking_observers()]
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
    counts = {}
    for step in result.steps.values():
        counts[step.status] = counts.get(step.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    where = _relative(result.run_dir)
    click.echo(
        f"run {result.run_id} {result.status} in {result.duration:.1f}s ({summary}): {where}"
    )
    failure = result.failure()
    if failure is not None:
        failure.file = str(source)
        raise failure


def _relative(path: Path) -> str:
    import os

    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _tracking_observers() -> list:
    """Observers other packages plug in (MLflow tracking), found through entry points."""
    from importlib.metadata import entry_points

    out = []
    for entry in entry_points(group="nb2pipe.observers"):
        factory = entry.load()
        observer = factory()
        if observer is not None:
            out.append(observer)
    return out


@main.command()
@source_arg
@params_opt
@raw_opt
@click.option("--workspace", type=click.Path(path_type=Path))
def status(source, params, raw_params, workspace):
    """Say per step whether the next run would execute it, and why."""
    from .runner import load_pipeline
    from .runner.status import step_status

    pipeline, notebook = load_pipeline(source)
    values = _parse_params(params, pipeline, raw_params)
    rows = step_status(pipeline, notebook, values, workspace)
    width = max(len(r["step"]) for r in rows)
    for row in rows:
        verdict = "would run" if row["run"] else "up to date"
        click.echo(f"{row['step']:<{width}}  {verdict:<10}  {'; '.join(row['reasons'])}")


@main.command("test")
@click.argument("notebooks", nargs=-1, required=True, type=click.Path(path_type=Path))
@params_opt
@click.option(
    "--profile",
    metavar="NAME",
    help="Parameter values from metadata.nb2pipe.profiles.NAME (default: 'ci' if declared).",
)
@click.option("--strict", is_flag=True, help="Compare every stored cell output, not only marked.")
@click.option("--junit-xml", type=click.Path(path_type=Path), help="Write a JUnit XML report.")
@click.option(
    "--workspace",
    type=click.Path(path_type=Path),
    help="Where the runs go (default: a temporary folder, kept only if a test fails).",
)
def run_notebook_tests(notebooks, params, profile, strict, junit_xml, workspace):
    """Run each notebook's pipeline on sample parameters; check steps, outputs and assertions.

    Exit 0 when every notebook passes, 1 when one fails, 2 for bad input.
    """
    from .runner.progress import TerminalProgress
    from .testing import plan, run_plans

    plans = [plan(notebook, params, profile) for notebook in notebooks]
    reports, kept = run_plans(
        plans, strict=strict, workspace=workspace, observers_for=lambda _plan: [TerminalProgress()]
    )
    if junit_xml is not None:
        from .testing.junit import write_junit

        write_junit(reports, junit_xml)
    for report in reports:
        click.echo(report.summary())
    if kept is not None and workspace is None:
        click.echo(f"executed notebooks kept in {kept}")
    if not all(report.ok for report in reports):
        sys.exit(1)


@main.group(cls=_Group)
def ci() -> None:
    """Continuous integration: generate the workflow that checks, tests and publishes."""


@ci.command("init")
@click.option(
    "--provider",
    default="github",
    metavar="github|gitlab",
    help="github: .github/workflows/nb2pipe.yml (default); gitlab: .gitlab-ci.yml.",
)
@click.option(
    "--notebook",
    "notebooks",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A notebook the workflow tests (repeatable; default: every tagged notebook here).",
)
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
def ci_init(provider, notebooks, force):
    """Write the CI workflow and a pre-commit config for this project (the current folder)."""
    from .ci import init

    written = init(Path.cwd(), provider, list(notebooks), force=force)
    for path in written:
        click.echo(f"wrote {path}")


# --- images and cluster exports (nb2pipe.exports) --------------------------------------------

base_opt = click.option(
    "--base",
    metavar="IMAGE",
    help="Base image of the step images (default: python:3.11-slim; an image: tag wins).",
)
registry_opt = click.option(
    "--registry",
    default="",
    metavar="PREFIX",
    help="Prefix of the image names, e.g. ghcr.io/team (default: none, local names).",
)


def _build_dir(source: Path) -> Path:
    """The compiled pipeline folder: beside a notebook, or the folder of a pipeline.yaml."""
    return source.parent if source.suffix in (".yaml", ".yml") else default_output(source)


@main.command("export")
@source_arg
@click.option(
    "--target",
    required=True,
    metavar="TARGET",
    help="kfp (Kubeflow Pipelines v2), argo (Argo Workflows), airflow or airflow-kubernetes "
    "(Apache Airflow 3: -o is the DAGs folder).",
)
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path))
@base_opt
@registry_opt
def export(source: Path, target: str, output: Path, base: str | None, registry: str) -> None:
    """Export the pipeline to a cluster engine; each step runs in its own image."""
    from .exports import export_targets
    from .exports.dockerfile import DEFAULT_BASE, build_files
    from .exports.images import image_tags
    from .notebook import write_atomic
    from .runner import load_pipeline

    exporter = export_targets.get(target)
    pipeline, notebook = load_pipeline(source)
    files = build_files(
        pipeline, base or DEFAULT_BASE, out_dir=_build_dir(source), notebook_path=notebook
    )
    images = image_tags(pipeline, files, registry)
    if hasattr(exporter, "export_folder"):  # a folder of files (Airflow: DAG + step notebooks)
        exporter.export_folder(pipeline, images, files, output)
    else:
        write_atomic(output, exporter.export(pipeline, images))
    hint = f"; build their images with `nb2pipe build-images {source}`"
    if not getattr(exporter, "runs_images", True):  # Airflow's local form runs no image
        hint = ""
    click.echo(f"exported {len(pipeline.steps)} steps to {output} ({target}){hint}")


@main.command("build-images")
@source_arg
@base_opt
@click.option(
    "--engine",
    type=click.Choice(["podman", "docker"]),
    help="Container engine (default: podman if installed, else docker).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Build context folder (default: the compiled pipeline folder).",
)
@registry_opt
def build_images(
    source: Path, base: str | None, engine: str | None, output: Path | None, registry: str
) -> None:
    """Build one image per step, tagged by content hash (nb2pipe-<pipeline>-<step>:<sha12>)."""
    from .build import write_compiled
    from .exports import images
    from .exports.dockerfile import DEFAULT_BASE, build_files
    from .runner import load_pipeline

    pipeline, notebook = load_pipeline(source)
    out_dir = output or _build_dir(source)
    engine = images.find_engine(engine)
    write_compiled(pipeline, out_dir, notebook)
    files = build_files(pipeline, base or DEFAULT_BASE, out_dir=out_dir, notebook_path=notebook)
    width = max(len(s.name) for s in pipeline.steps)
    images.build_images(
        pipeline,
        out_dir,
        files,
        engine=engine,
        registry=registry,
        on_step=lambda b: click.echo(f"{b.step:<{width}}  {b.image}  ({b.status})"),
    )


# --- continuous training: validation, serving, triggers (jupyter_mlops, imported lazily) -----


@main.command("validate")
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "--schema",
    required=True,
    type=click.Path(path_type=Path),
    help="The schema file (NOTEBOOK's name + .schema.yaml by convention).",
)
@click.option("--infer", is_flag=True, help="Write the schema inferred from DATA instead.")
@click.option(
    "--margin",
    type=float,
    default=0.0,
    show_default=True,
    help="With --infer: widen each range by this share of its span on both sides.",
)
def validate_command(data: Path, schema: Path, infer: bool, margin: float) -> None:
    """Check DATA (.csv, .parquet, .jsonl, a prediction log) against a schema (exit 0 or 2)."""
    from jupyter_mlops.validation import (
        DataValidationError,
        read_data,
        save_schema,
        validate_frame,
    )

    frame = read_data(data)
    if infer:
        path = save_schema(frame, schema, margin=margin)
        click.echo(f"wrote {path}: the schema of {len(frame)} rows, {len(frame.columns)} columns")
        return
    report = validate_frame(frame, schema)
    if report.ok:
        click.echo(f"ok: {data}: {report.summary()}")
        return
    for problem in report.problems:
        click.echo(f"  {problem}")
    raise DataValidationError(report).located(str(data))


@main.command("serve")
@click.argument("model", metavar="MODEL[@ALIAS]")
@click.option("--port", type=click.IntRange(0, 65535), default=5001, show_default=True)
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
def serve_command(model: str, port: int, host: str, log: Path, tracking_uri: str | None) -> None:
    """Serve a registered model over REST (MLflow's protocol); log every prediction.

    MODEL is NAME (its champion), NAME@ALIAS or NAME/VERSION. Stop with Ctrl-C or SIGTERM.
    """
    from jupyter_mlops.redact import refuse_credentials
    from jupyter_mlops.serving import serve

    refuse_credentials("--tracking-uri", tracking_uri)
    serve(model, host=host, port=port, log=log, tracking_uri=tracking_uri, echo=click.echo)


@main.command("watch")
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
@click.option("--min-rows", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--metric", help="Run when this live metric of the served model degrades.")
@click.option("--below", type=float, help="With --metric: run when it falls below this.")
@click.option("--above", type=float, help="With --metric: run when it rises above this.")
@click.option("--window", default="1h", show_default=True, help="With --metric: time window.")
@click.option("--min-labels", type=click.IntRange(min=1), default=10, show_default=True)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.2),
    default=60.0,
    show_default=True,
    help="Seconds between checks.",
)
@click.option("--max-runs", type=click.IntRange(min=1), help="Stop after this many runs.")
@click.option("--once", is_flag=True, help="Check once, run if triggered, stop.")
@click.option("--workspace", type=click.Path(path_type=Path))
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
    from jupyter_mlops.triggers import (
        DriftTrigger,
        MetricTrigger,
        NewFiles,
        Watcher,
        watch_until_signal,
    )

    from .runner import load_pipeline
    from .runner.progress import TerminalProgress

    if (reference or metric) and log is None:
        raise Nb2PipeError("--reference and --metric need --log, the prediction log to read")
    if (below is not None or above is not None) and not metric:
        raise Nb2PipeError("--below and --above need --metric")
    pipeline, _ = load_pipeline(notebook)
    values = _parse_params(params, pipeline)
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
        observers=[TerminalProgress(), *_tracking_observers()],
        echo=click.echo,
    )
    results = watch_until_signal(watcher)
    if results and not results[-1].ok:
        sys.exit(1)


@main.command("schedule")
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
    from jupyter_mlops.schedule import write_schedule

    path = write_schedule(notebook, cron, output=output, params=list(params), force=force)
    click.echo(f"wrote {_relative(path)}: runs {notebook} on cron {cron!r} (UTC)")


# --- the registry (jupyter_mlops, imported lazily) ---------------------------------------------


@main.command()
@source_arg
@click.option("--name", required=True, help="Registered model name.")
@click.option("--run", "run_id", metavar="RUN", help="nb2pipe run id (default: the latest).")
@click.option("--step", help="Step whose artifact is the model (default: found by type).")
@click.option("--artifact", help="Variable holding the model (default: found by type).")
@click.option("--metric", help="The metric the model gate compares.")
@click.option("--workspace", type=click.Path(path_type=Path))
def publish(source, name, run_id, step, artifact, metric, workspace):
    """Publish the model of a finished run: registered, documented, aliased `challenger`."""
    from jupyter_mlops.config import tracking_uri
    from jupyter_mlops.publishing import publish_from_run

    from .runner import load_pipeline
    from .runner.rundir import Workspace

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
    click.echo(
        f"published {published.name} version {published.version} "
        f"(alias {published.alias}) from run {run.id}"
    )


@main.command()
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
def promote(name, metric, lower_is_better, threshold, dry_run):
    """The model gate: move alias `champion` to the `challenger` only when it wins."""
    from jupyter_mlops.config import tracking_uri
    from jupyter_mlops.publishing import promote as gate

    decision = gate(
        name,
        metric,
        greater_is_better=not lower_is_better,
        threshold=threshold,
        tracking_uri=tracking_uri(),
        dry_run=dry_run,
    )
    click.echo(str(decision))
    if dry_run and not decision.promoted:
        sys.exit(1)
