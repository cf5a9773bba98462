"""Commands that take a pipeline beyond the local runner: export, build-images."""

from __future__ import annotations

from pathlib import Path

import click

from .group import main
from .options import default_output, source_arg

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
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="The file to write (kfp, argo: e.g. pipeline.yaml); for airflow and "
    "airflow-kubernetes, the DAGs folder.",
)
@base_opt
@registry_opt
def export(source: Path, target: str, output: Path, base: str | None, registry: str) -> None:
    """Export the pipeline to a cluster engine.

    kfp, argo and airflow-kubernetes run each step in its own image (build them with
    `nb2pipe build-images`); airflow runs the step notebooks with the workers' own Python
    (NB2PIPE_PYTHON), no image needed.
    """
    from ..exports import export_targets
    from ..exports.dockerfile import DEFAULT_BASE, build_files
    from ..exports.images import image_tags
    from ..fileio import write_atomic
    from ..rendering import shell
    from ..runner import load_pipeline

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
    hint = f"; build their images with `{shell(['nb2pipe', 'build-images', str(source)])}`"
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
    from ..compile.build import write_compiled
    from ..exports import images
    from ..exports.dockerfile import DEFAULT_BASE, build_files
    from ..runner import load_pipeline

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
