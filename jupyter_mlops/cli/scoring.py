"""`nb2pipe score`: batch scoring through the served model (jupyter_mlops.serving.batch).

It joins nb2pipe's command line through the ``nb2pipe.commands`` entry-point group, like the
other commands of this package.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command("score")
@click.argument("model", metavar="MODEL[@ALIAS]")
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Where the rows and their predictions go (.csv, .parquet or .jsonl).",
)
@click.option(
    "--chunk-rows",
    type=click.IntRange(1, None),
    default=50_000,
    show_default=True,
    help="Rows scored at a time: what is in memory at once.",
)
@click.option(
    "--tracking-uri",
    metavar="URI",
    help="The registry (default: as configured); credentials go in the environment.",
)
def score_command(
    model: str, data: Path, output: Path, chunk_rows: int, tracking_uri: str | None
) -> None:
    """Score DATA (.csv, .parquet, .jsonl) with a registered model, chunk by chunk, into OUT.

    MODEL is NAME (its champion), NAME@ALIAS or NAME/VERSION. A model published with its
    notebook's serve cells runs them on the raw rows, as when it is served.
    """
    from jupyter_mlops.credentials import refuse_credentials
    from jupyter_mlops.serving.batch import score

    refuse_credentials("--tracking-uri", tracking_uri)
    served, scored = score(model, data, output, tracking_uri=tracking_uri, chunk_rows=chunk_rows)
    click.echo(
        f"scored {scored.rows:,} rows of {data} with {served} into {output} "
        f"({scored.chunks} chunks, {scored.seconds:.1f}s)"
    )
