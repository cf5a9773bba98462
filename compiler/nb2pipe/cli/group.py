"""The `nb2pipe` command group: our errors as one `error:` line, plugged-in commands
loaded when named (cli/__init__.py adds our own families of commands to it)."""

from __future__ import annotations

import click

from .. import startup
from ..errors import Nb2PipeError
from ..plugins import registry

plugin_commands = registry("command")
startup.quick()  # before papermill or nbformat can import jsonschema


class Group(click.Group):
    """Turns our errors into one `error: …` line and an exit code; never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Nb2PipeError as e:
            click.echo(f"error: {e}", err=True)
            ctx.exit(e.exit_code)


class _Main(Group):
    """The top-level group: our commands, and those plugged in (imported when used)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(plugin_commands.names()))

    def get_command(self, ctx: click.Context, name: str):
        command = super().get_command(ctx, name)
        if command is None and name in plugin_commands:
            command = plugin_commands.get(name)
        return command


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="jupyter-mlops", prog_name="nb2pipe")
def main() -> None:
    """Compile a tagged notebook into a pipeline of standalone step notebooks, and run it."""
