"""Tagged notebook → `Pipeline`: group cells into steps, infer the data between them, check.

The order of work: read the notebook, read every cell's tags, group cells by role and step,
analyse names per step, resolve each name a step reads to the nearest earlier step that assigns
it (or a parameter, an import, a helper, a builtin), then order the steps and refuse cycles.
Every error names the file and the cell.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import analysis
from .errors import GraphError, Nb2PipeError, TagError
from .ir import Cell, Input, Pipeline, Step
from .notebook import SourceNotebook, read_notebook
from .parameters import Param, parse_parameters
from .tags import CellTags, parse_cell_tags

IMPLICIT_STEP = "main"  # the one step of a notebook that has no step tags


@dataclass
class _Group:
    """A step while it is being assembled."""

    step: Step
    tag_cells: dict[str, int] = field(default_factory=dict)  # after-target -> cell of the tag
    metrics_cells: list[int] = field(default_factory=list)
    facts: analysis.CodeFacts | None = None


def compile_notebook(path: str | os.PathLike) -> Pipeline:
    """Compile the notebook at `path`; raise an `Nb2PipeError` naming file and cell."""
    try:
        notebook = read_notebook(path)
        return _compile(notebook)
    except Nb2PipeError as e:
        raise e.located(str(path)) from None


def compile_notebook_data(data: dict, path: str | os.PathLike) -> Pipeline:
    """Compile notebook JSON that is not (yet) on disk, e.g. the sidebar's unsaved notebook."""
    from .notebook import parse_notebook

    try:
        return _compile(parse_notebook(data, path))
    except Nb2PipeError as e:
        raise e.located(str(path)) from None


def pipeline_name(path: Path) -> str:
    name = re.sub(r"[^a-z0-9_]+", "_", path.stem.lower()).strip("_") or "pipeline"
    return name if not name[0].isdigit() else f"p_{name}"


def _compile(notebook: SourceNotebook) -> Pipeline:
    tags = [parse_cell_tags(list(c.tags), cell=c.number) for c in notebook.cells]
    pipeline = Pipeline(
        name=pipeline_name(notebook.path),
        source=notebook.path.name,
        kernel=notebook.kernel,
        language=notebook.language,
    )
    groups = _group_cells(notebook, tags, pipeline)

    # Names every step starts with: what the imports and functions cells define.
    shared = analysis.analyse([(c.source, c.number) for c in pipeline.imports + pipeline.functions])
    imported = analysis.analyse([(c.source, c.number) for c in pipeline.imports]).writes
    helpers: dict[str, set[str]] = {}
    for c in pipeline.functions:
        helpers.update(analysis.definitions(c.source, c.number))
    for group in groups:
        cells = [(c.source, c.number) for c in group.step.code_cells()]
        # Helpers count as reads here, so that what they read joins the step's inputs.
        group.facts = analysis.analyse(cells, known=frozenset(imported))
        _expand_helpers(group, helpers, set(shared.writes))

    params = {p.name: p for p in pipeline.params}
    star_import = shared.star_import or any(g.facts.star_import for g in groups)
    _check_helpers(shared, params, groups, star_import)
    helper_params = sorted({r.name for r in shared.late_reads if r.name in params})

    for index, group in enumerate(groups):
        _resolve(group, groups[:index], groups[index + 1 :], params, star_import, notebook)
        step = group.step
        step.params = sorted(set(step.params) | set(helper_params))
        step.imports = sorted(shared.modules | group.facts.modules)
    _link_outputs(groups)
    _check_after(groups)
    pipeline.steps = _ordered([g.step for g in groups], groups)
    return pipeline


def _group_cells(
    notebook: SourceNotebook, tags: list[CellTags], pipeline: Pipeline
) -> list[_Group]:
    has_steps = any(t.step for t in tags)
    groups: dict[str, _Group] = {}
    current: _Group | None = None
    description: list[str] = []
    params_cell: int | None = None
    for cell, tag in zip(notebook.cells, tags, strict=True):
        if cell.kind == "raw":
            continue
        ir_cell = Cell(cell.number, cell.kind, cell.source, list(tag.foreign))
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
            _refuse_step_settings(tag, cell.number)
            continue
        if tag.role == "skip":
            continue
        if tag.step or (not has_steps and current is None and cell.kind == "code"):
            name = tag.step or IMPLICIT_STEP
            # Kale merges cells that repeat a block name into one step; so do we.
            current = groups.setdefault(name, _Group(Step(name=name, cells=[])))
        if current is None:
            if cell.kind == "markdown":
                description.append(cell.source.strip())
                continue
            raise TagError(
                "code cell before the first step: tag it step:NAME, or imports, functions, "
                "parameters or skip",
                cell=cell.number,
            )
        step = current.step
        step.cells.append(ir_cell)
        for target in tag.after:
            if target not in step.after:
                step.after.append(target)
                current.tag_cells[target] = cell.number
        step.image = tag.image or step.image
        step.requirements += [r for r in tag.requirements if r not in step.requirements]
        step.resources.merge(tag.resources)
        step.cache = step.cache if tag.cache is None else tag.cache
        step.retries = step.retries if tag.retries is None else tag.retries
        step.timeout = step.timeout if tag.timeout is None else tag.timeout
        if tag.role == "metrics":
            current.metrics_cells.append(cell.number)
    pipeline.description = "\n\n".join(d for d in description if d)
    return list(groups.values())


def _refuse_step_settings(tag: CellTags, cell: int) -> None:
    if tag.has_step_settings:
        raise TagError(
            f"step settings (after, resources, image, cache…) belong on a step's cells, "
            f"not on a {tag.role} cell",
            cell=cell,
        )


def _expand_helpers(group: _Group, helpers: dict[str, set[str]], shared: set[str]) -> None:
    """Replace reads of helper functions by what those helpers read (transitively)."""
    facts = group.facts
    used = [r for r in facts.reads if r.name in helpers]
    seen: set[str] = set()
    todo = [r.name for r in used]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += [n for n in helpers.get(name, ()) if n in helpers]
    facts.reads = [r for r in facts.reads if r.name not in shared]
    late = {r.name for r in facts.late_reads}
    for name in sorted(seen):
        for read in sorted(helpers[name] - shared):
            if read not in late:
                late.add(read)
                facts.late_reads.append(analysis.Reads(read, None))
    facts.late_reads = [r for r in facts.late_reads if r.name not in shared]


def _check_helpers(shared, params: dict[str, Param], groups: list[_Group], star: bool) -> None:
    """Names read inside helper functions must exist somewhere when they are called."""
    everywhere = set(params) | set(shared.writes) | analysis.BUILTIN_NAMES
    for group in groups:
        everywhere |= set(group.facts.writes)
    for read in shared.reads + shared.late_reads:
        if read.name not in everywhere and not star:
            raise GraphError(f"name {read.name!r} is used but never defined", cell=read.cell)


def _resolve(group, earlier, later, params, star_import, notebook) -> None:
    """Turn each name the step reads into an input artifact, a parameter, or an error."""
    step, facts = group.step, group.facts
    reads = list(facts.reads)
    own = set(facts.writes)
    reads += [r for r in facts.late_reads if r.name not in own]
    for read in reads:
        name = read.name
        producer = next((g for g in reversed(earlier) if name in g.facts.writes), None)
        if producer is not None:
            step.inputs.append(Input(name, producer.step.name))
        elif name in params:
            step.params.append(name)
        elif name in analysis.BUILTIN_NAMES or star_import or read.cell is None:
            continue  # (cell None: read by a helper; `_check_helpers` vouched for it)
        else:
            raise GraphError(_undefined(name, later, notebook), cell=read.cell)
    step.inputs.sort(key=lambda i: (i.producer, i.name))
    available = own | {i.name for i in step.inputs}
    metric_cells = set(group.metrics_cells)
    if metric_cells:
        metric_facts = analysis.analyse(
            [(c.source, c.number) for c in step.code_cells() if c.number in metric_cells]
        )
        names = metric_facts.writes + metric_facts.shown
        step.metrics = sorted({n for n in names if n in available})


def _undefined(name: str, later: list[_Group], notebook: SourceNotebook) -> str:
    message = f"name {name!r} is used but no earlier step, import or parameter defines it"
    for group in later:
        if name in group.facts.writes:
            return message + f" (step {group.step.name!r} assigns it later)"
    for cell in notebook.cells:
        if "skip" in cell.tags and cell.kind == "code":
            try:
                if name in analysis.analyse([(cell.source, cell.number)]).writes:
                    return message + f" (only the skipped cell {cell.number} assigns it)"
            except Nb2PipeError:
                pass
    return message


def _link_outputs(groups: list[_Group]) -> None:
    by_name = {g.step.name: g.step for g in groups}
    for group in groups:
        for item in group.step.inputs:
            outputs = by_name[item.producer].outputs
            if item.name not in outputs:
                outputs.append(item.name)
    for group in groups:
        group.step.outputs.sort()
        inferred = {i.producer for i in group.step.inputs}
        group.step.upstream = sorted(inferred | set(group.step.after))


def _check_after(groups: list[_Group]) -> None:
    names = [g.step.name for g in groups]
    for group in groups:
        for target in group.step.after:
            cell = group.tag_cells.get(target, group.step.first_cell)
            if target == group.step.name:
                raise GraphError(f"step {target!r} cannot run after itself", cell=cell)
            if target not in names:
                close = difflib.get_close_matches(target, names, n=1)
                hint = (
                    f" (did you mean {close[0]!r}?)" if close else f" (steps: {', '.join(names)})"
                )
                raise TagError(f"after:{target}: no step is named {target!r}{hint}", cell=cell)


def _ordered(steps: list[Step], groups: list[_Group]) -> list[Step]:
    """Upstream before downstream, otherwise notebook order; a cycle is a `GraphError`."""
    placed: list[Step] = []
    done: set[str] = set()
    pending = list(steps)
    while pending:
        ready = next((s for s in pending if set(s.upstream) <= done), None)
        if ready is None:
            cycle = _find_cycle({s.name: s.upstream for s in pending})
            first = next(g for g in groups if g.step.name == cycle[0])
            cell = next(iter(first.tag_cells.values()), first.step.first_cell)
            raise GraphError(f"steps form a cycle: {' → '.join(cycle)}", cell=cell)
        placed.append(ready)
        done.add(ready.name)
        pending.remove(ready)
    return placed


def _find_cycle(graph: dict[str, list[str]]) -> list[str]:
    import graphlib

    try:
        graphlib.TopologicalSorter(
            {k: [u for u in v if u in graph] for k, v in graph.items()}
        ).prepare()
    except graphlib.CycleError as e:
        cycle = list(e.args[1])
        return cycle[::-1]  # graphlib reports it against the arrows
    return sorted(graph)
