"""Cells → roles and steps, by their tags.

Untagged cells follow Kale's rule: an untagged code cell belongs with the tagged cell before
it — a step, or the `imports` or `functions` cells — and one before any of those is left out
of the pipeline, with a `warning:` line. A notebook without step tags is one step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import TagError
from ..notebook import SourceCell, SourceNotebook
from .facts import CodeFacts
from .ir import Cell, Hazard, Pipeline, Step
from .parameters import parse_parameters
from .tags import CellTags


@dataclass
class Group:
    """A step while it is being assembled."""

    step: Step
    tag_cells: dict[str, int] = field(default_factory=dict)  # after-target -> cell of the tag
    metrics_cells: list[int] = field(default_factory=list)
    serve_cells: list[int] = field(default_factory=list)  # tagged serve
    serve_input: tuple[int, str] | None = None  # (cell, NAME) of a serve:NAME tag
    facts: CodeFacts | None = None


def group_cells(
    notebook: SourceNotebook, tags: list[CellTags], pipeline: Pipeline, implicit: str
) -> tuple[list[Group], list[SourceCell]]:
    """The steps, and the code cells left out (tagged `skip`, or before the first step)."""
    has_steps = any(t.step for t in tags)
    groups: dict[str, Group] = {}
    current: Group | None = None  # the step untagged cells join
    active: str | None = None  # "step", "imports" or "functions": where untagged code goes
    description: list[str] = []
    params_cell: int | None = None
    left_out: list[SourceCell] = []
    for cell, tag in zip(notebook.cells, tags, strict=True):
        if cell.kind == "raw":
            continue
        ir_cell = Cell(cell.number, cell.kind, cell.source, list(tag.foreign))
        if tag.serve and cell.kind != "code":
            raise TagError("the serve tag belongs on a code cell", cell=cell.number)
        if tag.role == "parameters":
            if cell.kind != "code":
                raise TagError("the parameters tag belongs on a code cell", cell=cell.number)
            if params_cell is not None:
                raise TagError(
                    f"a second parameters cell (the first is cell {params_cell})", cell=cell.number
                )
            params_cell = cell.number
            pipeline.params = parse_parameters(cell.source, cell=cell.number)
            _refuse_step_settings(tag, cell.number)
            continue
        if tag.role in ("imports", "functions"):
            if cell.kind == "code":
                getattr(pipeline, tag.role).append(ir_cell)
                active = tag.role if has_steps else active
            _refuse_step_settings(tag, cell.number)
            continue
        if tag.role == "skip":
            if cell.kind == "code":
                left_out.append(cell)
            continue
        if tag.step or (not has_steps and current is None and cell.kind == "code"):
            name = tag.step or implicit
            # Kale merges cells that repeat a block name into one step; so do we.
            current = groups.setdefault(name, Group(Step(name=name, cells=[])))
            active = "step"
        elif cell.kind == "code" and tag.role is None and active in ("imports", "functions"):
            getattr(pipeline, active).append(ir_cell)  # Kale: untagged code joins the cell above
            continue
        if current is None:
            if cell.kind == "markdown":
                description.append(cell.source.strip())
                continue
            if tag.role == "metrics" or tag.has_step_settings or tag.serve:
                raise TagError(
                    "a metrics, serve or step-settings tag before the first step: tag the "
                    "cell step:NAME too",
                    cell=cell.number,
                )
            left_out.append(cell)
            pipeline.warnings.append(
                Hazard(
                    cell.number,
                    "left out of the pipeline: it comes before the first step:NAME tag "
                    "(tag it step:NAME, imports, functions or skip)",
                )
            )
            continue
        _add(current, ir_cell, tag)
    pipeline.description = "\n\n".join(d for d in description if d)
    return list(groups.values()), left_out


def _add(group: Group, cell: Cell, tag: CellTags) -> None:
    step = group.step
    step.cells.append(cell)
    for target in tag.after:
        if target not in step.after:
            step.after.append(target)
            group.tag_cells[target] = cell.number
    step.image = tag.image or step.image
    step.requirements += [r for r in tag.requirements if r not in step.requirements]
    step.resources.merge(tag.resources)
    step.cache = step.cache if tag.cache is None else tag.cache
    step.retries = step.retries if tag.retries is None else tag.retries
    step.timeout = step.timeout if tag.timeout is None else tag.timeout
    step.features = tag.features or step.features
    step.files_read += [p for p in tag.inputs if p not in step.files_read]
    step.files_written += [p for p in tag.outputs if p not in step.files_written]
    if tag.role == "metrics":
        group.metrics_cells.append(cell.number)
    if tag.serve:
        group.serve_cells.append(cell.number)
    if tag.serve_input:
        group.serve_input = (cell.number, tag.serve_input)


def _refuse_step_settings(tag: CellTags, cell: int) -> None:
    if tag.has_step_settings:
        raise TagError(
            f"step settings (after, resources, image, cache…) belong on a step's cells, "
            f"not on a {tag.role} cell",
            cell=cell,
        )
