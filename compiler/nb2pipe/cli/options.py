"""What several commands share: their arguments and options, and how they print."""

from __future__ import annotations

import os
from pathlib import Path

import click

notebook_arg = click.argument("notebook", type=click.Path(path_type=Path))
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
workspace_opt = click.option(
    "--workspace",
    metavar="PATH|URL",
    help="Where runs and the cache live: a folder or a URL such as s3://bucket/prefix "
    "(default: workspace in [tool.jupyter-mlops], else .nb2pipe in the project root).",
)


def parse_params(pairs: tuple[tuple[str, str], ...], pipeline, raw=()) -> dict:
    from ..compile.parameters import from_command_line

    return from_command_line(pipeline.params, pairs, raw)


def warn(pipeline, notebook: Path) -> None:
    """The compiler's hazards, one `warning:` line each, on stderr."""
    from ..errors import warning_line

    for hazard in pipeline.warnings:
        click.echo(warning_line(str(notebook), hazard.cell, hazard.message), err=True)


def default_output(notebook: Path) -> Path:
    return notebook.with_name(f"{notebook.stem}_pipeline")


def relative(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def run_observers(source: Path | None = None) -> list:
    """What a run started from the command line reports to: the terminal, and the observers
    other packages plug in (MLflow tracking)."""
    from ..runner.events import plugged_in
    from ..runner.progress import TerminalProgress, WarningPrinter

    return [TerminalProgress(), WarningPrinter(str(source) if source else None), *plugged_in()]
