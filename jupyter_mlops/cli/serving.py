"""`nb2pipe serve`: a registered model over REST, following its alias."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("serve")
@click.argument("model", metavar="MODEL[@ALIAS|/VERSION]")
@click.option("--port", type=click.IntRange(0, 65535), default=5001, show_default=True, help="Port to listen on.")  # fmt: skip
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
    help="Seconds a client may take to send a whole request (slower ones are closed).",
)
@click.option(
    "--log-max-bytes",
    type=click.IntRange(1024, None),
    default=64 * 1024 * 1024,
    show_default=True,
    help="Past this size the log is moved aside as a numbered part and a new one starts.",
)
@click.option(
    "--canary",
    type=float,
    metavar="PERCENT",
    help="Answer this share of requests from @challenger (the rest from the champion).",
)
@click.option(
    "--canary-key",
    metavar="COLUMN",
    help="With --canary: rows with the same value of COLUMN always go to the same side.",
)
@click.option(
    "--shadow",
    is_flag=True,
    help="Send every request to @challenger as well; always answer from the champion.",
)
@click.option(
    "--poll",
    type=click.FloatRange(0.2, None),
    default=2.0,
    show_default=True,
    help="Seconds between two looks at the registry's aliases.",
)
@click.option(
    "--latency-budget-ms",
    type=click.FloatRange(0, None, min_open=True),
    help="The p99 1-row latency a new version must keep to be swapped in "
    "(default: 1.5x the live champion's).",
)
def serve_command(
    model: str,
    port: int,
    host: str,
    log: Path,
    tracking_uri: str | None,
    timeout: float,
    log_max_bytes: int,
    canary: float | None,
    canary_key: str | None,
    shadow: bool,
    poll: float,
    latency_budget_ms: float | None,
) -> None:
    """Serve a registered model over REST (MLflow's protocol); log every prediction.

    MODEL is NAME (its champion) or NAME@ALIAS, both followed: when the alias moves, the new
    version is checked here and swapped in without a failed request. NAME/VERSION stays
    pinned. Stop with Ctrl-C or SIGTERM.
    """
    from jupyter_mlops.credentials import refuse_credentials
    from jupyter_mlops.serving.server import routing_for, serve

    refuse_credentials("--tracking-uri", tracking_uri)
    serve(
        model,
        host=host,
        port=port,
        log=log,
        tracking_uri=tracking_uri,
        timeout=timeout,
        log_max_bytes=log_max_bytes,
        routing=routing_for(canary, canary_key, shadow),
        interval=poll,
        budget_ms=latency_budget_ms,
        echo=click.echo,
    )
