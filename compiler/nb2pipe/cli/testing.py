"""Commands for CI: test notebooks (`nb2pipe test`) and write the CI workflow (`ci init`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .group import Group, main
from .options import params_opt


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
    from ..runner.progress import TerminalProgress
    from ..testing import plan, run_plans

    plans = [plan(notebook, params, profile) for notebook in notebooks]
    reports, kept = run_plans(
        plans, strict=strict, workspace=workspace, observers_for=lambda _plan: [TerminalProgress()]
    )
    if junit_xml is not None:
        from ..testing.junit import write_junit

        write_junit(reports, junit_xml)
    for report in reports:
        click.echo(report.summary())
    if kept is not None and workspace is None:
        click.echo(f"executed notebooks kept in {kept}")
    if not all(report.ok for report in reports):
        sys.exit(1)


@main.group(cls=Group)
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
    from ..exports.ci import init

    written = init(Path.cwd(), provider, list(notebooks), force=force)
    for path in written:
        click.echo(f"wrote {path}")
