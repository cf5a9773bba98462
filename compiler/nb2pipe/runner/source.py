"""What a run starts from: the pipeline (compiled from a notebook, or read from a
pipeline.yaml) and its parameter values."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..compile import pipeline_file
from ..compile.ir import Pipeline
from ..compile.parameters import suggestion, typed_values
from ..errors import Nb2PipeError, NotebookError, ParameterError, os_problem
from ..notebook import read_notebook
from .rundir import RunDir, Workspace, process_alive, project_root


def load_pipeline(source: str | os.PathLike | Pipeline) -> tuple[Pipeline, Path]:
    """The pipeline and its source notebook's path, from a notebook or a pipeline.yaml."""
    if isinstance(source, Pipeline):
        return source, Path(source.source).resolve()
    path = Path(source)
    if path.suffix in (".yaml", ".yml"):
        try:
            pipeline = pipeline_file.load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise Nb2PipeError("no such file", file=str(path)) from None
        except (OSError, UnicodeDecodeError) as e:
            raise Nb2PipeError(f"cannot read it ({e})", file=str(path)) from None
        except Nb2PipeError as e:
            raise e.located(str(path)) from None
        return pipeline, source_notebook(pipeline, path)
    from ..compile.compiler import compile_notebook

    return compile_notebook(path), path.resolve()


def source_notebook(pipeline: Pipeline, pipeline_yaml: Path) -> Path:
    """The notebook a pipeline.yaml names in `source`, refused unless it is a notebook file
    inside the pipeline's project.

    The run's workspace, its kernels' working folder and the files it hashes are all found
    from that notebook, so an absolute `source`, a `../..` or a symbolic link leading out of
    the project would put a whole `.nb2pipe/` beside any path. `compile` writes the notebook's
    path relative to its output folder, inside the notebook's project: the project of a
    pipeline.yaml is the nearest folder above it with pyproject.toml or .git, else the folder
    holding its compiled folder (`compile` writes `<notebook>_pipeline/` beside the notebook).
    """
    where = str(pipeline_yaml)
    written = Path(pipeline.source)
    if written.is_absolute() or written.drive or written.root:
        raise Nb2PipeError(
            f"source {pipeline.source!r} is not a path relative to pipeline.yaml "
            "(compile it again)",
            file=where,
        )
    folder = pipeline_yaml.resolve().parent
    root = project_root(folder / "pipeline.yaml")
    if root == folder and not _marks_project(folder):
        root = folder.parent
    notebook = (folder / written).resolve()
    if not notebook.is_relative_to(root):
        raise Nb2PipeError(
            f"source {pipeline.source!r} leads out of the project ({root}); compile the "
            "notebook again into a folder of its project",
            file=where,
        )
    if not notebook.is_file():
        raise Nb2PipeError(
            f"source {pipeline.source!r}: no such notebook (moved or renamed? compile it again)",
            file=where,
        )
    try:  # a file of the project that is no notebook (`../pyproject.toml`) ran, silently
        read_notebook(notebook)
    except NotebookError as e:
        raise Nb2PipeError(f"source {pipeline.source!r}: {e.message}", file=where) from None
    return notebook


def _marks_project(folder: Path) -> bool:
    return (folder / "pyproject.toml").exists() or (folder / ".git").exists()


def typed_params(pipeline: Pipeline, stored: dict[str, Any]) -> dict[str, Any]:
    """Parameter values read back from run.json (JSON) with their declared types again; a
    parameter the notebook dropped since is left out (the resume check compares the rest)."""
    declared = {p.name for p in pipeline.params}
    kept = {name: value for name, value in stored.items() if name in declared}
    return typed_values(pipeline.params, kept, text=False)  # a stored string is a value


def resolve_params(pipeline: Pipeline, overrides: dict[str, Any] | None) -> dict[str, Any]:
    values = {p.name: p.value for p in pipeline.params}
    for name, value in (overrides or {}).items():
        if name not in values:
            raise ParameterError(f"unknown parameter {name!r} ({suggestion(name, values)})")
        values[name] = value
    return values


def choose_run(
    space: Workspace,
    pipeline: Pipeline,
    resume: str | None,
    params: dict[str, Any] | None,
    values: dict[str, Any],
) -> tuple[RunDir, dict[str, Any], list[str]]:
    """The run folder to write into, the parameter values to run with, and notes to report.

    A resumed run keeps its own parameters; asking for other values starts a new run.
    """
    notes: list[str] = []
    run = space.run(resume) if resume else None
    if resume and run is None:
        raise Nb2PipeError(f"--resume {resume}: no such run in {space.runs}")
    if run is not None:
        info = run.info()
        if not isinstance(info.get("params"), dict):
            raise Nb2PipeError(
                f"--resume {resume}: its run.json is not a record nb2pipe wrote (edited or "
                "damaged); start a new run"
            )
        if info.get("status") == "running" and process_alive(info) is not False:
            raise Nb2PipeError(f"--resume {resume}: that run is still running")
        own = resolve_params(pipeline, typed_params(pipeline, info.get("params") or {}))
        if params and values != own:
            notes.append(f"other parameters than run {run.id}: started a new run")
            run = None
        else:
            values = own
    if run is None:
        try:
            run = space.new_run()
        except OSError as e:
            raise Nb2PipeError(f"cannot create a run in {space.runs}: {os_problem(e)}") from None
    return run, values, notes
