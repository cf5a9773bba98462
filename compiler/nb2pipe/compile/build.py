"""Compiled output: `pipeline.yaml` and one standalone, papermill-ready notebook per step.

A step notebook reads top to bottom like the original: a header, the parameters cell (tagged
`parameters`, so papermill injects after it), the shared imports and helpers, a cell that
loads the step's inputs, the step's own cells (outputs cleared, markdown kept), and a cell that
saves its outputs and metrics. User code is copied verbatim, never embedded in strings.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from ..errors import Nb2PipeError
from ..fileio import write_atomic
from ..notebook import code_cell, dumps, markdown_cell, new_notebook
from . import pipeline_file
from .ir import Pipeline, Serve, Step

RUN_DIR_PARAM = "nb2pipe_run_dir"
RUNTIME_ALIAS = "nb2pipe_artifacts"
SERVED_ALIAS = "nb2pipe_served"


def step_notebook(pipeline: Pipeline, step: Step) -> dict:
    """The nbformat-4 document of one step."""
    cells = [markdown_cell(f"{step.name}-header", _header(pipeline, step), role="header")]
    cells.append(
        code_cell(
            "parameters", _parameters_source(pipeline, step), ["parameters"], role="parameters"
        )
    )
    for kind in ("imports", "functions"):
        for cell in getattr(pipeline, kind):
            cells.append(
                code_cell(
                    f"{kind}-{cell.number}", cell.source, cell.tags, role=kind, cell=cell.number
                )
            )
    if step.replay:
        cells.append(code_cell("replay", _replay_source(step), role="replay"))
    cells.append(code_cell("load-inputs", _load_source(pipeline, step), role="load"))
    serve = pipeline.serve if pipeline.serve and pipeline.serve.step == step.name else None
    for cell in step.cells:
        cell_id = f"cell-{cell.number}"
        if serve and cell.number == serve.cells[0].number:
            cells.append(code_cell("serve-input", _keep_input_source(serve), role="serve"))
        if cell.kind == "markdown":
            cells.append(markdown_cell(cell_id, cell.source, cell=cell.number))
        else:
            cells.append(code_cell(cell_id, cell.source, cell.tags, cell=cell.number))
        if serve and cell.number == serve.cells[-1].number:
            cells.append(code_cell("serve-output", _keep_output_source(serve), role="serve"))
    cells.append(code_cell("save-outputs", _save_source(pipeline, step), role="save"))
    return new_notebook(cells, pipeline.kernel, pipeline.language)


def _header(pipeline: Pipeline, step: Step) -> str:
    def names(items):
        return ", ".join(f"`{i}`" for i in items) or "none"

    inputs = [f"{i.name} (from {i.producer})" for i in step.inputs]
    return (
        f"# Step `{step.name}` of pipeline `{pipeline.name}`\n"
        f"Compiled by nb2pipe from `{Path(pipeline.source).name}`; edit the source notebook, "
        "not this file.\n\n"
        f"- inputs: {names(inputs)}\n"
        f"- outputs: {names(step.outputs)}\n"
        f"- parameters: {names(step.params)}\n"
        f"- metrics: {names(step.metrics)}"
    )


def _parameters_source(pipeline: Pipeline, step: Step) -> str:
    lines = ["# Parameters: papermill injects new values after this cell."]
    lines += [pipeline.param(name).source() for name in step.params]
    lines += [
        "# Where upstream artifacts are read from and this step's are written.",
        f'{RUN_DIR_PARAM} = "."',
    ]
    return "\n".join(lines)


def _replay_source(step: Step) -> str:
    lines = [
        "# nb2pipe: what earlier steps did to the session (imports, settings) that Run All",
        "# has done by now, re-run here.",
    ]
    for cell in step.replay:
        lines.append(
            f"{cell.source}  # cell {cell.number}" if "\n" not in cell.source else cell.source
        )
    return "\n".join(lines)


def _watches_random(pipeline: Pipeline, step: Step) -> bool:
    """A step outside the random-state chain of a notebook that seeds: watched for draws."""
    return not step.random_state and any(s.random_state for s in pipeline.steps)


def _load_source(pipeline: Pipeline, step: Step) -> str:
    lines = [
        "# nb2pipe: load this step's inputs, as saved by the upstream steps.",
        f"from nb2pipe import artifacts as {RUNTIME_ALIAS}",
    ]
    if step.inputs:
        lines += ["", f"with {RUNTIME_ALIAS}.loading():  # values that were one object stay one"]
    for item in step.inputs:
        lines += [f"    {line}" for line in _load_line(item)]
    if step.random_from:
        lines.append("# Continue from the global random state of the step before, as Run All does.")
        lines.append(f'{RUNTIME_ALIAS}.restore_random_state({RUN_DIR_PARAM}, "{step.random_from}")')
    elif _watches_random(pipeline, step):
        lines.append(f"{RUNTIME_ALIAS}.watch_random_state()")
    if step.guard:
        lines.append("# Later steps read these too: they must leave this step unchanged.")
        lines.append(f"{RUNTIME_ALIAS}.watch({', '.join(f'{n}={n}' for n in step.guard)})")
    return "\n".join(lines)


def _load_line(item) -> list[str]:
    args = [RUN_DIR_PARAM, f'"{item.producer}"', f'"{item.name}"']
    comment = []
    if item.resaved_by:
        args.append(f"resaved_by={_strings(item.resaved_by)}")
    if item.sharing:
        args.append(f"sharing={_strings(item.sharing)}")
        comment = [f"# {', '.join(item.sharing)}: may be one object with {item.name}, changed here"]
    return [*comment, f"{item.name} = {RUNTIME_ALIAS}.load({', '.join(args)})"]


def _strings(names: list[str]) -> str:
    return "[" + ", ".join(f'"{n}"' for n in names) + "]"


def _keep_input_source(serve: Serve) -> str:
    values = "".join(f", {name}={name}" for name in serve.values)
    return "\n".join(
        [
            "# nb2pipe: keep what the serve cells start from (the variable a request's rows are",
            "# bound to, the values from training) for the model they are published with.",
            f"from nb2pipe.artifacts import served as {SERVED_ALIAS}",
            f'{SERVED_ALIAS}.keep_input({RUN_DIR_PARAM}, "{serve.step}", "{serve.input}", '
            f"{serve.input}{values})",
        ]
    )


def _keep_output_source(serve: Serve) -> str:
    return "\n".join(
        [
            "# nb2pipe: keep what the model is fitted or predicts on, as the serve cells leave it.",
            f'{SERVED_ALIAS}.keep_output({RUN_DIR_PARAM}, "{serve.step}", "{serve.output}", '
            f"{serve.output})",
        ]
    )


def _features_lines(step: Step) -> list[str]:
    """features:ENTITY: the frames the step binds that hold ENTITY are kept for the store."""
    from .analysis import analyse

    facts = analyse([(c.source, c.number) for c in step.code_cells()])
    names = [n for n in facts.writes if n not in facts.imported and n not in facts.functions]
    return [
        "# Its frames with the entity column become feature views once the step has finished.",
        "from nb2pipe.artifacts.entity_frames import save_entity_frames",
        f'save_entity_frames({RUN_DIR_PARAM}, "{step.name}", "{step.features}", globals(), '
        f"{names!r})",
    ]


def _save_source(pipeline: Pipeline, step: Step) -> str:
    lines = ["# nb2pipe: save this step's outputs for downstream steps."]
    cell = step.first_cell
    if step.guard:
        args = ", ".join(f"{n}={n}" for n in step.guard)
        lines.append(
            f'{RUNTIME_ALIAS}.check_unchanged({RUN_DIR_PARAM}, "{step.name}", {cell}, {args})'
        )
    if _watches_random(pipeline, step):
        lines.append(f'{RUNTIME_ALIAS}.check_random_state({RUN_DIR_PARAM}, "{step.name}", {cell})')
    sharing = sorted({n for i in step.inputs for n in i.sharing})
    if step.outputs or sharing:
        lines.append(f"{RUNTIME_ALIAS}.save(")
        lines.append(f'    {RUN_DIR_PARAM}, "{step.name}",')
        lines += [f"    {name}={name}," for name in step.outputs]
        if sharing:
            names = ", ".join(f'"{n}"' for n in sharing)
            lines.append(f"    **{RUNTIME_ALIAS}.changed_companions({names}),")
        lines.append(")")
    else:
        lines.append(f'{RUNTIME_ALIAS}.save({RUN_DIR_PARAM}, "{step.name}")')
    if step.random_state:
        lines.append(f'{RUNTIME_ALIAS}.save_random_state({RUN_DIR_PARAM}, "{step.name}")')
    if step.features:
        lines += _features_lines(step)
    if step.metrics:
        args = ", ".join(f"{m}={m}" for m in step.metrics)
        lines.append(f'{RUNTIME_ALIAS}.save_metrics({RUN_DIR_PARAM}, "{step.name}", {args})')
    return "\n".join(lines)


def render(pipeline: Pipeline, out_dir: Path, notebook_path: Path | None = None) -> dict[str, str]:
    """Every compiled file as relative path → text; nothing is written (and `pipeline` is
    left as it was: `source` is relative to `out_dir` in the files only)."""
    if notebook_path is not None:
        source = os.path.relpath(notebook_path.resolve(), out_dir.resolve())
        pipeline = dataclasses.replace(pipeline, source=Path(source).as_posix())
    files = {"pipeline.yaml": pipeline_file.dump(pipeline)}
    for step in pipeline.steps:
        files[f"steps/{step.name}.ipynb"] = dumps(step_notebook(pipeline, step))
    return files


def write_compiled(
    pipeline: Pipeline, out_dir: str | os.PathLike, notebook_path: str | os.PathLike | None = None
) -> list[Path]:
    """Write the compiled pipeline into `out_dir`: all files rendered first, each written
    atomically, and step notebooks of steps that no longer exist removed."""
    out_dir = Path(out_dir)
    files = render(pipeline, out_dir, Path(notebook_path) if notebook_path else None)
    _check_writable(out_dir, notebook_path)
    written = []
    for rel, text in files.items():
        path = out_dir / rel
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            write_atomic(path, text)
        written.append(path)
    kept = set(written)
    for stale in (out_dir / "steps").glob("*.ipynb"):
        if stale not in kept:
            stale.unlink()
    return written


def _check_writable(out_dir: Path, notebook_path) -> None:
    """Refuse before writing anything: output in the way, or a source it would overwrite."""
    for folder in (out_dir, out_dir / "steps"):
        if folder.exists() and not folder.is_dir():
            raise Nb2PipeError(f"cannot write into {folder}: it is a file, not a folder")
    if notebook_path is not None:
        source = Path(notebook_path).resolve()
        if source.parent == (out_dir / "steps").resolve():
            raise Nb2PipeError(
                f"the output folder {out_dir} holds the source notebook; choose another with -o"
            )
