"""The data and the order between steps, decided so that the pipeline computes what Run All
computes — or refused (`GraphError`) or flagged (a `warning:`) naming the cell.

For each name a step reads, the nearest earlier step (in notebook order) that writes it —
binds it, or changes the object in place — produces it. What cannot be an artifact is handled
as Run All would see it: a name bound by an import is imported again; star imports and global
settings of earlier steps are replayed; global random state is carried from step to step
when the notebook seeds it; files written by one step order the steps that name them.
"""

from __future__ import annotations

import difflib
from collections import deque

from ..errors import GraphError, Nb2PipeError, TagError
from ..notebook import SourceCell, SourceNotebook
from . import analysis, carried
from .facts import BUILTIN_NAMES, CodeFacts, Reads, is_history
from .grouping import Group
from .ir import Cell, Hazard, Input, Pipeline, Step


class Resolver:
    def __init__(
        self,
        pipeline: Pipeline,
        notebook: SourceNotebook,
        groups: list[Group],
        shared: CodeFacts,
        imported: CodeFacts,
        left_out: list[SourceCell] = (),
    ):
        self.left_out = list(left_out)
        self.pipeline = pipeline
        self.notebook = notebook
        self.groups = groups
        self.shared = shared
        self.imported = imported
        self.params = {p.name: p for p in pipeline.params}
        self.order: dict[str, set[str]] = {g.step.name: set() for g in groups}  # extra edges

    def resolve(self) -> None:
        self._check_shared()
        for index, group in enumerate(self.groups):
            self._resolve_step(index, group)
        carried.replay(self)
        carried.random_chain(self)
        carried.warn_unseeded(self)
        carried.stops(self)
        carried.files(self)
        self._shared_objects()
        self._link()
        self._guards()
        self._check_after()
        self.pipeline.steps = self._ordered()
        carried.warn_left_out(self)

    def warn(self, cell: int | None, message: str) -> None:
        self.pipeline.warnings.append(Hazard(cell, message))

    # --- names ---------------------------------------------------------------------------
    def _check_shared(self) -> None:
        """imports/functions cells run before every step: what they read must exist there."""
        shared = self.shared
        everywhere = set(self.params) | set(shared.writes) | BUILTIN_NAMES
        for group in self.groups:
            everywhere |= set(group.facts.writes)
        star = shared.star_import or any(g.facts.star_import for g in self.groups)
        for read in shared.late_reads:
            if read.name not in everywhere and not star:
                raise GraphError(f"name {read.name!r} is used but never defined", cell=read.cell)
        for read in shared.reads:
            if read.name not in set(self.params) | BUILTIN_NAMES and not shared.star_import:
                raise GraphError(
                    f"name {read.name!r} is read by an imports or functions cell, which runs "
                    "before every step, but only a parameter, an import or a builtin exists "
                    "there: move this code into a step",
                    cell=read.cell,
                )
        shared_params = {r.name for r in [*shared.reads, *shared.late_reads]} & set(self.params)
        for group in self.groups:
            group.step.params = sorted(set(group.step.params) | shared_params)

    def producer(self, name: str, earlier: list[Group]) -> Group | None:
        return next((g for g in reversed(earlier) if name in g.facts.writes), None)

    def _resolve_step(self, index: int, group: Group) -> None:
        step, facts = group.step, group.facts
        earlier = self.groups[:index]
        star = (
            self.shared.star_import
            or any(g.facts.star_import for g in earlier[:])
            or (facts.star_import)
        )
        queue: deque[tuple[Reads, bool]] = deque(
            [(r, True) for r in facts.reads] + [(r, False) for r in facts.late_reads]
        )
        seen: set[str] = set()
        while queue:
            read, strict = queue.popleft()
            name = read.name
            if name in seen:
                continue
            seen.add(name)
            producer = self.producer(name, earlier)
            if producer is not None:
                for late in self._take(step, read, producer):
                    queue.append((Reads(late, read.cell), False))
            elif name in self.params:
                step.params.append(name)
            elif is_history(name) and read.cell is not None:
                self.warn(
                    read.cell,
                    f"reads IPython's history ({name!r}), which in a step notebook holds that "
                    "step's cells and results only, not Run All's: assign what you need to a "
                    "variable instead",
                )
            elif name in BUILTIN_NAMES or read.cell is None:
                continue  # (cell None: read by a helper; _check_shared vouched for it)
            elif not strict and name in facts.writes:
                continue  # read by a function body, bound by this step before it is called
            elif star:
                continue  # may come from a star import (or %run), which later steps replay
            else:
                raise GraphError(self._undefined(name, index), cell=read.cell)
        for read in facts.maybe_reads:  # read by code in a string, if something defines it
            producer = self.producer(read.name, earlier)
            if read.name not in seen and producer is not None:
                seen.add(read.name)
                self._take(step, read, producer)
        step.inputs.sort(key=lambda i: (i.producer, i.name))
        step.params = sorted(set(step.params))
        step.imports = sorted(self.shared.modules | facts.modules)
        self._metrics(group)

    def _take(self, step: Step, read: Reads, producer: Group) -> list[str]:
        """Give `step` the producer's version of `read.name`; return names it then needs."""
        name, facts, source = read.name, producer.facts, producer.step.name
        if name in facts.deleted:
            raise GraphError(
                f"name {name!r} is deleted by step {source!r} (cell {facts.deleted[name]}) "
                f"before step {step.name!r} reads it; Run All stops there with a NameError",
                cell=read.cell or step.first_cell,
            )
        written_in = facts.write_cells.get(name)
        if written_in is not None and written_in > step.first_cell:
            raise GraphError(
                f"step {source!r} continues after step {step.name!r} starts and writes "
                f"{name!r} in cell {written_in}; {step.name!r} would see that before it "
                f"happens in Run All: give cell {written_in} a step name of its own",
                cell=written_in,
            )
        if name in facts.imported:
            step.replay.append(Cell(written_in or 0, "code", facts.imported[name]))
            return []
        if name in facts.unpassable:
            kind, cell = facts.unpassable[name]
            raise GraphError(
                f"{name!r} is {kind}, which cannot be passed from step {source!r} to step "
                f"{step.name!r} (it reads it in cell {read.cell or step.first_cell}): create "
                "it in the step that uses it",
                cell=cell,
            )
        if not any(i.name == name for i in step.inputs):
            step.inputs.append(Input(name, source, cell=read.cell or step.first_cell))
        # A function or class made by that step reads globals when it is called here.
        return facts.function_late_reads.get(name, [])

    def _metrics(self, group: Group) -> None:
        step = group.step
        available = set(group.facts.writes) | {i.name for i in step.inputs}
        metric_cells = set(group.metrics_cells)
        if metric_cells:
            metric_facts = analysis.analyse(
                [(c.source, c.number) for c in step.code_cells() if c.number in metric_cells]
            )
            # a name the cell only reads is not one of its metrics, even when it shares an
            # object with one (`w_value = w`)
            names = [n for n in metric_facts.writes if n not in metric_facts.carried]
            names += metric_facts.shown
            step.metrics = sorted({n for n in names if n in available})

    def _undefined(self, name: str, index: int) -> str:
        message = f"name {name!r} is used but no earlier step, import or parameter defines it"
        for group in self.groups[index + 1 :]:
            if name in group.facts.writes:
                return message + f" (step {group.step.name!r} assigns it later)"
        for cell in self.left_out:
            try:
                if name in analysis.analyse([(cell.source, cell.number)]).writes:
                    why = "skipped" if "skip" in cell.tags else "left-out"
                    return message + f" (only the {why} cell {cell.number} assigns it)"
            except Nb2PipeError:
                pass
        return message

    def _link(self) -> None:
        by_name = {g.step.name: g.step for g in self.groups}
        for group in self.groups:
            for item in group.step.inputs:
                outputs = by_name[item.producer].outputs
                if item.name not in outputs:
                    outputs.append(item.name)
        for group in self.groups:
            step = group.step
            step.outputs.sort()
            inferred = {i.producer for i in step.inputs} | self.order[step.name]
            step.upstream = sorted(inferred | set(step.after))

    def _guards(self) -> None:
        for index, group in enumerate(self.groups):
            later = self.groups[index + 1 :]
            sharing = {n for i in group.step.inputs for n in i.sharing}
            for item in group.step.inputs:
                if item.name in sharing:
                    continue  # saved again if this step changes it through another name
                if any(
                    i.name == item.name and i.producer == item.producer
                    for g in later
                    for i in g.step.inputs
                ):
                    group.step.guard.append(item.name)
            group.step.guard.sort()

    def _shared_objects(self) -> None:
        """An input whose producer's other variable a step in between changes in place: if the
        two were one object there (`y = x`, a view, a model keeping its data), Run All's input
        has that change. That step loads the input with what it changes when they share an
        object and saves it again; this step reads the latest copy (artifacts/shared.py)."""
        position = {g.step.name: i for i, g in enumerate(self.groups)}
        for index, group in enumerate(self.groups):
            for item in group.step.inputs:
                start = position[item.producer]
                for between in self.groups[start + 1 : index]:
                    changers = [
                        other
                        for other in between.step.inputs
                        if other.producer == item.producer
                        and other.name != item.name
                        and other.name in between.facts.changed
                    ]
                    for other in changers:
                        if item.name not in other.sharing:
                            other.sharing.append(item.name)
                    if changers and between.step.name not in item.resaved_by:
                        item.resaved_by.append(between.step.name)
                        self.order[group.step.name].add(between.step.name)
        for group in self.groups:
            for item in group.step.inputs:
                item.sharing.sort()

    def _check_after(self) -> None:
        names = [g.step.name for g in self.groups]
        for group in self.groups:
            for target in group.step.after:
                cell = group.tag_cells.get(target, group.step.first_cell)
                if target == group.step.name:
                    raise GraphError(f"step {target!r} cannot run after itself", cell=cell)
                if target not in names:
                    close = difflib.get_close_matches(target, names, n=1)
                    hint = (
                        f" (did you mean {close[0]!r}?)"
                        if close
                        else f" (steps: {', '.join(names)})"
                    )
                    raise TagError(f"after:{target}: no step is named {target!r}{hint}", cell=cell)

    def _ordered(self) -> list[Step]:
        """Upstream before downstream, otherwise notebook order; a cycle is a `GraphError`."""
        placed: list[Step] = []
        done: set[str] = set()
        pending = [g.step for g in self.groups]
        while pending:
            ready = next((s for s in pending if set(s.upstream) <= done), None)
            if ready is None:
                cycle = _find_cycle({s.name: s.upstream for s in pending})
                first = next(g for g in self.groups if g.step.name == cycle[0])
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
