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
    output = output or default_output(notebook)
    written = write_compiled(pipeline, output, notebook)
    click.echo(f"compiled {len(pipeline.steps)} steps into {output}/ ({len(written)} files)")


def default_output(notebook: Path) -> Path:
    return notebook.with_name(f"{notebook.stem}_pipeline")


@main.command()
@notebook_arg
def show(notebook: Path) -> None:
    """Print the steps, the variables carried between them, the parameters and the graph."""
    from .compile import compile_notebook
    from .show import text

    click.echo(text(compile_notebook(notebook)))


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
    else:
        click.echo(
            f"ok: {notebook}: {len(pipeline.steps)} steps, {len(pipeline.params)} parameters"
        )


@main.command()
def tags() -> None:
    """Print the cell-tag grammar."""
    from .tags import grammar

    for row in grammar():
        aliases = f" (also {', '.join(row['aliases'])})" if row["aliases"] else ""
        click.echo(f"{row['example']:<24} {row['meaning']}{aliases}")
