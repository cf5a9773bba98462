"""What carries from cell to cell in Run All besides variables, and how the pipeline keeps it.

Imports and global settings made by a step are replayed in later steps; global random state is
chained from step to step when the notebook seeds it; a file one step writes orders the steps
that name it; a step that may `sys.exit` runs before all later ones; cells left out that change
what later steps read are warned about. Each function takes the `Resolver` of resolve.py.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import Nb2PipeError
from . import analysis, cellcode, effects, paths
from .facts import BUILTIN_NAMES
from .ir import Cell

if TYPE_CHECKING:
    from .resolve import Resolver


@dataclass
class _Replayed:
    """A statement a later step re-runs, with its place in notebook order."""

    key: tuple[int, int, int]  # (cell, statement, 0 for an import a setting needs, else 1)
    cell: Cell
    is_import: bool


def replay(resolver: Resolver) -> None:
    """Star imports, global settings (with the imports they need) and imports of the project's
    own modules (which may set things when imported) of earlier steps, re-run where Run All has
    them, in the order Run All ran them."""
    carried: list[_Replayed] = []  # what the steps so far left in the session
    local = _local_modules(resolver)
    for index, group in enumerate(resolver.groups):
        step, facts = group.step, group.facts
        taken = [_Replayed((c.number, -1, 0), c, True) for c in step.replay]  # names it reads
        step.replay = _in_order(taken + carried)
        if index + 1 == len(resolver.groups):
            step.changes_settings = bool(facts.settings)
            break
        for statement in facts.star_imports:
            carried.append(_replayed(statement, statement.source, is_import=True))
        for statement in facts.imports:
            if statement.module in local:
                carried.append(_replayed(statement, statement.source, is_import=True))
        for statement in facts.settings:
            step.changes_settings = True
            reads = _settings_reads(resolver, statement, index)
            if statement.replayable and reads is not None:
                for source, cell in reads:
                    key = (statement.cell or 0, statement.index, 0)
                    carried.append(_Replayed(key, Cell(cell, "code", source), True))
                carried.append(_replayed(statement, statement.source, is_import=False))
            else:
                resolver.warn(
                    statement.cell,
                    "changes a global setting inside a block or from a value computed in "
                    "the step; later steps do not see it, as Run All's later cells do: "
                    "move it to the imports cell",
                )


def _replayed(statement, source: str, is_import: bool) -> _Replayed:
    cell = statement.cell or 0
    return _Replayed((cell, statement.index, 1), Cell(cell, "code", source), is_import)


def _in_order(items: list[_Replayed]) -> list[Cell]:
    """Notebook order; an import once, where it is first needed (a setting may be made twice)."""
    out: list[Cell] = []
    imports: set[str] = set()
    for item in sorted(items, key=lambda r: r.key):
        if item.is_import:
            if item.cell.source in imports:
                continue
            imports.add(item.cell.source)
        out.append(item.cell)
    return out


def _local_modules(resolver: Resolver) -> set[str]:
    """Modules of the project: a .py file or a package beside the notebook, or a module a
    step writes (`%%writefile mylib.py`)."""
    folder = resolver.notebook.path.parent
    names = {m for g in resolver.groups for m in g.facts.modules}
    found = {
        m for m in names if (folder / f"{m}.py").is_file() or (folder / m / "__init__.py").is_file()
    }
    for group in resolver.groups:
        for cell in group.step.code_cells():
            if "writefile" in cell.source:
                found |= {m for m in names if f"{m}.py" in cell.source}
    return found


def _settings_reads(resolver: Resolver, statement, index: int) -> list[tuple[str, int]] | None:
    """Imports (source, cell) a settings statement needs to be replayed; None if it reads step
    data. A name no import binds may come from a star import, which is replayed before it."""
    try:
        facts = analysis.analyse([(statement.source, statement.cell)])
    except Nb2PipeError:
        return None
    star = resolver.shared.star_import or any(
        g.facts.star_import for g in resolver.groups[: index + 1]
    )
    needed: list[tuple[str, int]] = []
    for read in facts.reads:
        name = read.name
        if name in BUILTIN_NAMES or name in resolver.imported.writes or name in resolver.params:
            continue
        producer = resolver.producer(name, resolver.groups[: index + 1])
        if producer is None and star:
            continue
        if producer is None or name not in producer.facts.imported:
            return None
        cell = producer.facts.write_cells.get(name) or 0
        needed.append((producer.facts.imported[name], cell))
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
            trees[cell.number] = cellcode.parse(cell.source, cell.number)
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
    """A step that names a file an earlier step writes runs after it. A step that runs shell
    commands may read and write any file: it runs after every earlier step that writes one or
    runs commands, and a later step that names a file or runs commands runs after it."""
    constants = {p.name: p.value for p in resolver.pipeline.params if isinstance(p.value, str)}
    writers: dict[str, str] = {}  # path -> the latest step (so far) that writes it
    shell: str | None = None  # the latest step (so far) that runs shell commands
    for group in resolver.groups:
        step = group.step
        found = paths.Files()
        for cell in step.code_cells():
            tree = cellcode.parse(cell.source, cell.number)
            scanned = paths.scan(tree, constants, group.facts.origins)
            found.read |= scanned.read
            found.written |= scanned.written
        step.files_read = sorted(set(step.files_read) | found.read - found.written)
        step.files_written = sorted(set(step.files_written) | found.written)
        named = set(step.files_read) | set(step.files_written)
        named |= {f"{m}.py" for m in group.facts.modules}
        earlier = set()
        for path in named:
            earlier.add(writers.get(os.path.normpath(path)))
        # `%cd data` replayed from an earlier step needs the folder as much as the original did
        runs_shell = group.facts.shell or any(_shell(c) for c in step.replay)
        if runs_shell:
            earlier |= set(writers.values())
        if shell is not None and (runs_shell or step.files_read or step.files_written):
            earlier.add(shell)
        resolver.order[step.name] |= {s for s in earlier if s is not None and s != step.name}
        for path in step.files_written:
            writers[os.path.normpath(path)] = step.name
        if runs_shell:
            shell = step.name


def _shell(cell: Cell) -> bool:
    try:
        return analysis.analyse([(cell.source, cell.number)]).shell
    except Nb2PipeError:
        return False


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
