"""What a run starts from: the pipeline (compiled from a notebook, or read from a
pipeline.yaml) and its parameter values."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .. import pipeline_file
from ..errors import Nb2PipeError, ParameterError, os_problem
from ..ir import Pipeline
from ..parameters import suggestion, typed_values
from .rundir import RunDir, Workspace, process_alive


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
        return pipeline, (path.parent / pipeline.source).resolve()
    from ..compile import compile_notebook

    return compile_notebook(path), path.resolve()


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
