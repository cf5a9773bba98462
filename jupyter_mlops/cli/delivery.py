"""The delivery commands of `nb2pipe`: `deploy check` and `deploy --target`, `rollout status |
promote | abort`, `rollback`, `history`. Each imports the service it drives when it runs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from nb2pipe.cli.options import relative
from nb2pipe.errors import Nb2PipeError


class _DefaultGroup(click.Group):
    """A group whose arguments go to its `default` command unless they name a subcommand
    (`nb2pipe deploy check NAME` and `nb2pipe deploy NAME --target kserve`)."""

    default = "to"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [self.default, *args]
        return super().parse_args(ctx, args)


@click.group("deploy", cls=_DefaultGroup)
def deploy() -> None:
    """Check a version where it will run, or write what deploys it elsewhere.

    \b
    nb2pipe deploy check NAME[@ALIAS|/VERSION] [--target docker]
    nb2pipe deploy NAME[@ALIAS|/VERSION] --target kserve|docker -o DIR
    """


@deploy.command("check")
@click.argument("model", metavar="NAME[@ALIAS|/VERSION]")
@click.option(
    "--target",
    type=click.Choice(["local", "docker"]),
    default="local",
    show_default=True,
    help="Where it will run: this environment, or its serving image (built, started).",
)
@click.option(
    "--latency-budget-ms",
    type=click.FloatRange(0, None, min_open=True),
    help="The p99 1-row latency allowed (default: 1.5x the champion's).",
)
@click.option("--base", help="docker: the base image (a Debian or Python image with python3).")
def deploy_check(
    model: str, target: str, latency_budget_ms: float | None, base: str | None
) -> None:
    """The pre-deployment checks; exit 0 if all pass, else 1 with one line per failed check."""
    from jupyter_mlops.serving.deploy_check import check
    from jupyter_mlops.tracking.config import tracking_uri

    if base is not None and target != "docker":
        raise Nb2PipeError("--base is for --target docker")
    report = check(
        model, tracking_uri=tracking_uri(), budget_ms=latency_budget_ms, target=target, base=base
    )
    for result in report.checks:
        if result.ok:
            click.echo(f"ok: {result.name}: {result.detail}")
    for line in report.lines():
        click.echo(f"error: {line}", err=True)
    verdict = "passed" if report.ok else f"failed {len(report.failed)} check(s)"
    click.echo(f"{report.model.name} version {report.model.version} {verdict} ({report.where})")
    if not report.ok:
        sys.exit(1)


@deploy.command("to", hidden=True)
@click.argument("model", metavar="NAME[@ALIAS|/VERSION]")
@click.option("--target", type=click.Choice(["kserve", "docker"]), required=True,
              help="kserve: an InferenceService manifest; docker: the serving image.")  # fmt: skip
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Folder to write into.")
@click.option(
    "--canary",
    type=click.FloatRange(0, 100, min_open=True),
    metavar="PERCENT",
    help="kserve: the challenger takes this share of traffic (canaryTrafficPercent).",
)
@click.option(
    "--storage-uri",
    help="kserve: where the cluster reads the model (default: its registry artifact URI).",
)
@click.option(
    "--image", "image_ref", help="docker: the image's name (default: nb2pipe-serve-NAME:VERSION)."
)
@click.option("--base", help="docker: the base image (a Debian or Python image with python3).")
def deploy_to(model, target, output, canary, storage_uri, image_ref, base) -> None:
    """Write a KServe InferenceService, or build the serving image."""
    from jupyter_mlops.tracking.config import tracking_uri

    if target == "kserve":
        from jupyter_mlops.serving.kserve import write_inference_service

        if output is None:
            raise Nb2PipeError(
                "--target kserve needs -o DIR, the folder to write the manifest into"
            )
        path = write_inference_service(
            model, output, tracking_uri=tracking_uri(), canary=canary, storage_uri=storage_uri
        )
        click.echo(f"wrote {relative(path)}")
        return
    if canary is not None or storage_uri is not None:
        raise Nb2PipeError("--canary and --storage-uri are for --target kserve")
    from jupyter_mlops.serving.image import build_image

    built = build_image(model, tracking_uri=tracking_uri(), output=output, ref=image_ref, base=base)
    click.echo(f"built {built.ref} ({built.engine}; context {relative(built.context)})")


@click.group("rollout")
def rollout() -> None:
    """A canary or shadow rollout: how it goes, and ending it."""


@rollout.command("status")
@click.argument("name")
@click.option(
    "--log",
    type=click.Path(path_type=Path),
    default=Path("predictions.jsonl"),
    show_default=True,
    help="The prediction log of `nb2pipe serve` (feedback is read beside it).",
)
@click.option("--metric", default="accuracy", show_default=True, help="The live metric compared.")  # fmt: skip
@click.option("--min-labels", type=click.IntRange(min=1), default=30, show_default=True, help="Labelled predictions each version needs before they are compared.")  # fmt: skip
def rollout_status(name: str, log: Path, metric: str, min_labels: int) -> None:
    """Champion vs challenger on the live log and its feedback: promote, keep, or not enough data."""
    from jupyter_mlops.serving import rollout as rollouts

    champion, challenger = _registry(
        f"read model {name!r}", lambda client: rollouts.current(client, name)
    )
    if champion is None or challenger is None:
        raise Nb2PipeError(f"model {name!r} has no champion and challenger: no rollout to judge")
    found = rollouts.status(log, name, champion, challenger, metric=metric, min_labels=min_labels)
    for line in found.lines():
        click.echo(line)


def _registry(action: str, work):
    """`work(client)` against the configured registry: a refusal, or a registry that does
    not answer, as one line."""
    from jupyter_mlops.errors import translated
    from jupyter_mlops.serving.models import unreachable
    from jupyter_mlops.tracking import store
    from jupyter_mlops.tracking.config import tracking_uri

    uri = tracking_uri()
    with translated(action, uri), unreachable(uri):
        return work(store.client(uri))


def _end_rollout(name: str, why: str | None, how) -> str:
    return _registry(f"end the rollout of model {name!r}", lambda c: how(c, name, why or ""))


@rollout.command("promote")
@click.argument("name")
@click.option("--why", help="Recorded with the alias move.")
def rollout_promote(name: str, why: str | None) -> None:
    """The challenger becomes champion; the rollout ends."""
    from jupyter_mlops.serving.rollout import promote as end

    version = _end_rollout(name, why, end)
    click.echo(f"{name} version {version} is champion; the rollout is over")


@rollout.command("abort")
@click.argument("name")
@click.option("--why", help="Recorded with the alias move.")
def rollout_abort(name: str, why: str | None) -> None:
    """The challenger stops taking traffic; the champion answers everything."""
    from jupyter_mlops.serving.rollout import abort as end

    version = _end_rollout(name, why, end)
    click.echo(f"{name} version {version} is no longer challenger; the rollout is over")


@click.command("rollback")
@click.argument("name")
@click.option(
    "--to", "to", metavar="VERSION", help="This version (default: the previous champion)."
)
@click.option("--why", help="Recorded with the alias move.")
def rollback(name: str, to: str | None, why: str | None) -> None:
    """Move `champion` back to the previous champion; a service following it swaps within seconds."""
    from jupyter_mlops.registry.aliases import rollback as back

    move = _registry(f"roll back model {name!r}", lambda c: back(c, name, to, why=why or ""))
    click.echo(f"{name}: champion moved back from version {move.previous} to version {move.to}")


@click.command("history")
@click.argument("name")
@click.option("--alias", help="Only the moves of this alias.")
def history(name: str, alias: str | None) -> None:
    """Every recorded move of the model's aliases: when, which, from, to, by whom, why."""
    from jupyter_mlops.registry.aliases import history as moves

    found = _registry(f"read model {name!r}", lambda client: moves(client, name, alias))
    if not found:
        click.echo(f"{name}: no alias move recorded")
    for move in found:
        click.echo(str(move))
