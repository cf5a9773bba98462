"""Commands that read a notebook and write or print its pipeline: compile, show, check, tags."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..errors import Nb2PipeError
from .group import main
from .options import default_output, notebook_arg, warn


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
    from ..compile.build import write_compiled
    from ..compile.compiler import compile_notebook

    pipeline = compile_notebook(notebook)
    warn(pipeline, notebook)
    output = output or default_output(notebook)
    written = write_compiled(pipeline, output, notebook)
    click.echo(f"compiled {len(pipeline.steps)} steps into {output}/ ({len(written)} files)")


@main.command()
@notebook_arg
def show(notebook: Path) -> None:
    """Print the steps, the variables carried between them, the parameters and the graph."""
    from ..compile.compiler import compile_notebook
    from ..compile.show import text

    pipeline = compile_notebook(notebook)
    warn(pipeline, notebook)
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
    from ..compile.compiler import compile_notebook
    from ..compile.show import summary

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
    from ..compile.show import serving

    warn(pipeline, notebook)
    served = f"; served: {serving(pipeline)}" if pipeline.serve else ""
    click.echo(
        f"ok: {notebook}: {len(pipeline.steps)} steps, {len(pipeline.params)} parameters{served}"
    )


@main.command()
def tags() -> None:
    """Print the cell-tag grammar."""
    from ..compile.tag_table import HONOURED, grammar

    for row in grammar():
        aliases = f" (also {', '.join(row['aliases'])})" if row["aliases"] else ""
        click.echo(f"{row['example']:<24} {row['meaning']}{aliases}")
    click.echo("\nTags of other tools that nb2pipe honours:")
    for name, meaning in HONOURED.items():
        click.echo(f"{name:<24} {meaning}")
