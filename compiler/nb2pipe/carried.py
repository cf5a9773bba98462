"""What carries from cell to cell in Run All besides variables, and how the pipeline keeps it.

Imports and global settings made by a step are replayed in later steps; global random state is
chained from step to step when the notebook seeds it; a file one step writes orders the steps
that name it; a step that may `sys.exit` runs before all later ones; cells left out that change
what later steps read are warned about. Each function takes the `Resolver` of resolve.py.
"""

from __future__ import annotations

import ast
import os
from typing import TYPE_CHECKING

from . import analysis, effects, paths
from .analysis import BUILTIN_NAMES
from .errors import Nb2PipeError
from .ir import Cell

if TYPE_CHECKING:
    from .resolve import Resolver


def replay(resolver: Resolver) -> None:
    """Star imports and global settings of earlier steps, re-run where Run All has them."""
    carried: list[Cell] = []
    for index, group in enumerate(resolver.groups):
        step, facts = group.step, group.facts
        for cell in carried:
            if not any(c.source == cell.source for c in step.replay):
                step.replay.append(cell)
        step.replay.sort(key=lambda c: c.number)
        later = index + 1 < len(resolver.groups)
        for statement in facts.star_imports:
            carried.append(Cell(statement.cell or 0, "code", statement.source))
        for statement in facts.settings:
            step.changes_settings = True
            if not later:
                continue
            reads = _settings_reads(resolver, statement, index)
            if statement.replayable and reads is not None:
                carried += reads
                carried.append(Cell(statement.cell or 0, "code", statement.source))
            else:
                resolver.warn(
                    statement.cell,
                    "changes a global setting inside a block or from a value computed in "
                    "the step; later steps do not see it, as Run All's later cells do: "
                    "move it to the imports cell",
                )


def _settings_reads(resolver: Resolver, statement, index: int) -> list[Cell] | None:
    """Imports a settings statement needs to be replayed; None if it reads step data."""
    try:
        facts = analysis.analyse([(statement.source, statement.cell)])
    except Nb2PipeError:
        return None
    needed: list[Cell] = []
    for read in facts.reads:
        name = read.name
        if name in BUILTIN_NAMES or name in resolver.imported.writes or name in resolver.params:
            continue
        producer = resolver.producer(name, resolver.groups[: index + 1])
        if producer is None or name not in producer.facts.imported:
            return None
        cell = producer.facts.write_cells.get(name) or 0
        needed.append(Cell(cell, "code", producer.facts.imported[name]))
    return needed


def random_chain(resolver: Resolver) -> None:
    """When the notebook seeds a global generator, the steps that may draw from it take
    the state in notebook order, each from the one before, as in Run All."""
    seeded = resolver.shared.seeds_random or any(g.facts.seeds_random for g in resolver.groups)
    if not seeded:
        return
    started = resolver.shared.seeds_random
    previous: str | None = None
    for group in resolver.groups:
        facts, step = group.facts, group.step
        started = started or facts.seeds_random
        if not started or not (facts.seeds_random or facts.draws_random):
            continue
        step.random_from = previous
        step.random_state = True
        if previous is not None:
            resolver.order[step.name].add(previous)
        previous = step.name


def warn_unseeded(resolver: Resolver) -> None:
    """A notebook that draws from a global generator it never seeds gets other numbers at every
    Run All: no pipeline can equal it. Said once, at the first cell that surely draws (itself,
    or through a function the notebook defines)."""
    if resolver.shared.seeds_random or any(g.facts.seeds_random for g in resolver.groups):
        return
    cells = [*resolver.pipeline.imports, *resolver.pipeline.functions]
    cells += [c for g in resolver.groups for c in g.step.code_cells()]
    trees = {}
    for cell in cells:
        try:
            trees[cell.number] = analysis.parse(cell.source, cell.number)
        except Nb2PipeError:
            continue
    origins = dict(resolver.shared.origins)
    for group in resolver.groups:
        origins.update(group.facts.origins)
    drawing = {  # functions of the notebook whose body surely draws -> what it calls
        node.name: draw
        for tree in trees.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and (draw := _sure_draw(node, origins, {}))
    }
    for group in resolver.groups:
        for cell in group.step.code_cells():
            draw = _sure_draw(trees.get(cell.number), origins, drawing)
            if draw:
                resolver.warn(
                    cell.number,
                    f"draws from global random state ({draw}) that the notebook never seeds: "
                    "its numbers differ at every run, Run All's too, so the pipeline's cannot "
                    "equal them; seed it once in the imports cell (np.random.seed(0)) or pass "
                    "random_state=",
                )
                return


def _sure_draw(tree: ast.AST | None, origins: dict[str, str], drawing: dict[str, str]) -> str:
    """The first call in `tree` that surely draws from a global generator ("" if none)."""
    for node in ast.walk(tree) if tree is not None else ():
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id in drawing:
            return f"{node.func.id}() calls {drawing[node.func.id]}"
        origin = _call_origin(node, origins)
        seeded = any(k.arg in ("random_state", "seed", "generator") for k in node.keywords)
        if origin and effects.draws_surely(origin, seeded):
            return origin
    return ""


def _call_origin(node: ast.AST, origins: dict[str, str]) -> str | None:
    """`numpy.random.rand` for a call of `np.random.rand(...)` after `import numpy as np`."""
    if not isinstance(node, ast.Call):
        return None
    parts, func = [], node.func
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name) or func.id not in origins:
        return None
    return ".".join([origins[func.id], *reversed(parts)])


def stops(resolver: Resolver) -> None:
    """A step that may end the notebook (`sys.exit`) runs before every later step: Run All
    runs nothing after it, so neither may the pipeline (the runner skips them)."""
    for index, group in enumerate(resolver.groups):
        if group.facts.exits:
            for later in resolver.groups[index + 1 :]:
                resolver.order[later.step.name].add(group.step.name)


def files(resolver: Resolver) -> None:
    constants = {p.name: p.value for p in resolver.pipeline.params if isinstance(p.value, str)}
    writers: dict[str, str] = {}  # path -> the latest step (so far) that writes it
    for group in resolver.groups:
        step = group.step
        found = paths.Files()
        for cell in step.code_cells():
            tree = analysis.parse(cell.source, cell.number)
            scanned = paths.scan(tree, constants)
            found.read |= scanned.read
            found.written |= scanned.written
        step.files_read = sorted(set(step.files_read) | found.read - found.written)
        step.files_written = sorted(set(step.files_written) | found.written)
        named = set(step.files_read) | set(step.files_written)
        named |= {f"{m}.py" for m in group.facts.modules}
        for path in named:
            writer = writers.get(os.path.normpath(path))
            if writer is not None and writer != step.name:
                resolver.order[step.name].add(writer)
        for path in step.files_written:
            writers[os.path.normpath(path)] = step.name


def warn_left_out(resolver: Resolver) -> None:
    """A left-out cell that changes what a later step reads makes the pipeline differ."""
    chained = [g.step for g in resolver.groups if g.step.random_state]
    for cell in resolver.left_out:
        if "skip" not in cell.tags:
            continue  # left out for coming before the first step: warned already
        try:
            facts = analysis.analyse([(cell.source, cell.number)], origins=resolver.shared.origins)
        except Nb2PipeError:
            continue
        later = [s for s in chained if s.first_cell > cell.number]
        if facts.draws_random and later:
            resolver.warn(
                cell.number,
                "tagged skip but draws from the global random state that the notebook "
                f"seeds; the pipeline leaves it out, so step {later[0].name!r} gets other "
                "random numbers than in Run All",
            )
            continue
        for group in resolver.groups:
            if group.step.first_cell < cell.number:
                continue
            used = {i.name for i in group.step.inputs} | set(group.step.params)
            hit = sorted(set(facts.writes) & used)
            if hit:
                resolver.warn(
                    cell.number,
                    f"tagged skip but changes {hit[0]!r}, which step {group.step.name!r} "
                    "reads later; the pipeline leaves this cell out, so that step gets "
                    f"{hit[0]!r} without this change",
                )
                break
