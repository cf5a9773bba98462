"""Tagged notebook → `Pipeline`: group cells into steps, infer the data between them, check.

The order of work: read the notebook, read every cell's tags, group cells by role and step
(grouping.py), analyse names per step, resolve each name a step reads to the nearest earlier
step that writes it — assigns it, or changes the object in place — (or a parameter, an import,
a helper, a builtin), then order the steps and refuse cycles (resolve.py). The rule throughout:
the pipeline computes what Run All computes, or the compiler says why not, naming the cell.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import GraphError, Nb2PipeError
from ..notebook import SourceNotebook, read_notebook
from . import analysis, serve
from .facts import Reads
from .grouping import Group, group_cells
from .ir import Pipeline
from .resolve import Resolver
from .tags import parse_cell_tags

IMPLICIT_STEP = "main"  # the one step of a notebook that has no step tags


def compile_notebook(path: str | os.PathLike) -> Pipeline:
    """Compile the notebook at `path`; raise an `Nb2PipeError` naming file and cell."""
    try:
        notebook = read_notebook(path)
        return _compile(notebook)
    except Nb2PipeError as e:
        raise e.located(str(path)) from None


def compile_notebook_data(data: dict, path: str | os.PathLike) -> Pipeline:
    """Compile notebook JSON that is not (yet) on disk, e.g. the sidebar's unsaved notebook."""
    from ..notebook import parse_notebook

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
    groups, skipped = group_cells(notebook, tags, pipeline, IMPLICIT_STEP)
    if not groups:
        cells = [c.number for c in notebook.cells if c.kind == "code"] or [
            c.number for c in notebook.cells
        ]
        raise GraphError(
            "the notebook has no code to run: add code cells, or tag them step:NAME",
            cell=cells[-1] if cells else None,
        )

    # Names every step starts with: what the imports and functions cells define.
    shared_cells = [(c.source, c.number) for c in pipeline.imports + pipeline.functions]
    shared = analysis.analyse(shared_cells)
    imported = analysis.analyse([(c.source, c.number) for c in pipeline.imports])
    helpers: dict[str, set[str]] = {}
    for c in pipeline.functions:
        helpers.update(analysis.definitions(c.source, c.number))
    functions = dict(shared.functions)
    origins = dict(shared.origins)
    stars = list(shared.star_modules)
    for group in groups:
        cells = [(c.source, c.number) for c in group.step.code_cells()]
        # Helpers count as reads here, so that what they read joins the step's inputs.
        group.facts = analysis.analyse(
            cells,
            known=frozenset(imported.writes),
            origins=origins,
            functions=functions,
            star_modules=stars,
        )
        functions.update(group.facts.functions)
        origins.update(group.facts.origins)
        stars = group.facts.star_modules
        _expand_helpers(group, helpers, set(shared.writes))

    Resolver(pipeline, notebook, groups, shared, imported, skipped).resolve()
    pipeline.serve = serve.compile_serve(pipeline, groups, shared)
    pipeline.warnings = sorted(
        {(h.cell or 0, h.message): h for h in pipeline.warnings}.values(),
        key=lambda h: (h.cell or 0, h.message),
    )
    return pipeline


def _expand_helpers(group: Group, helpers: dict[str, set[str]], shared: set[str]) -> None:
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
                facts.late_reads.append(Reads(read, None))
    facts.late_reads = [r for r in facts.late_reads if r.name not in shared]
