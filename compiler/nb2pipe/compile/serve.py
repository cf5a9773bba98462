"""The `serve` cells, checked and compiled into what the published model runs on each request.

A notebook turns raw rows into the model's features in cells of a step; tagged `serve`, those
cells also run inside the published model, so the served model computes what the notebook
computed. The compiler decides, from the code alone:

- the *input*: the variable a request's rows are bound to — the data the first serve cell reads
  that was made earliest in the notebook (`serve:NAME` on that cell names it instead);
- the *values* from training the cells read (a fitted scaler, category lists, a training mean,
  parameters): the model carries them;
- the *prelude*: the import statements and helper definitions the cells use;
- the *output*: what later cells fit or predict on, as the serve cells leave it.

What cannot be served is said here, naming the cell (serve_rules.py has the rules): code over
the rows at hand, files, the network, a name nothing before the serve cells makes, a cell not
tagged serve that changes their data between them. Serve cells sit in one step.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ..errors import ServeError
from . import analysis, serve_rules
from .calls import base_name
from .cellcode import parse, to_python
from .facts import BUILTIN_NAMES, CodeFacts
from .grouping import Group
from .ir import Cell, Hazard, Pipeline, Serve

_FEAST = (
    "the serve cells read a feature store that step {step!r} publishes when the pipeline runs; "
    "Run All does not publish it, so there it reads what the store held before (and tag the "
    "serve step after:{step})"
)
# Calls whose first argument is what a model is fitted on or predicts on.
MODEL_CALLS = frozenset(
    {"fit", "predict", "predict_proba", "predict_log_proba", "decision_function", "score"}
)


@dataclass
class _Shared:
    """A top-level statement of the imports or functions cells, and what it reads."""

    cell: int
    source: str
    reads: set[str] = field(default_factory=set)


def compile_serve(pipeline: Pipeline, groups: list[Group], shared: CodeFacts) -> Serve | None:
    """The `Serve` of the notebook (None without serve cells); warnings go to `pipeline`."""
    marked = [(number, group) for group in groups for number in group.serve_cells]
    if not marked:
        return None
    return _Compiler(pipeline, groups, shared, marked).compile()


class _Compiler:
    def __init__(self, pipeline: Pipeline, groups: list[Group], shared: CodeFacts, marked):
        self.pipeline = pipeline
        self.shared = shared
        steps = {group.step.name: number for number, group in sorted(marked, key=lambda m: m[0])}
        if len(steps) > 1:
            (one, first), (other, second) = list(steps.items())[:2]
            raise ServeError(
                f"serve cells are in steps {one!r} (cell {first}) and {other!r} (cell "
                f"{second}): put the cells that make the model's features in one step",
                cell=second,
            )
        self.group = marked[0][1]
        self.numbers = sorted(number for number, _ in marked)
        self.code = sorted((c for g in groups for c in g.step.code_cells()), key=lambda c: c.number)

    def compile(self) -> Serve:
        first, last = self.numbers[0], self.numbers[-1]
        serve_cells = [c for c in self.code if c.number in self.numbers]
        self._training(first)
        trees = {c.number: parse(c.source, c.number) for c in serve_cells}
        served = [
            Cell(c.number, "code", serve_rules.served(to_python(c.source), trees[c.number]))
            for c in serve_cells
        ]
        facts = analysis.analyse(
            [(c.source, c.number) for c in served],
            origins=self.origins,
            functions=dict(self.shared.functions),
        )
        prelude, values = self._classify(facts)
        raw = self._input(served[0], values)
        values.discard(raw)
        helpers = [c for c in prelude if not _imports_only(c.source)]
        self._rules(helpers + served, facts, values)
        self._between(first, last, {raw, *values, *facts.writes, *(r.name for r in facts.reads)})
        output = self._output(last, facts)
        self._after(last, output)
        published = [s.name for s in self.pipeline.steps if s.features]
        if published and any(o.startswith("feast") for o in facts.origins.values()):
            self.pipeline.warnings.append(Hazard(first, _FEAST.format(step=published[0])))
        return Serve(
            input=raw,
            output=output,
            cells=served,
            prelude=prelude,
            values=sorted(values),
            step=self.group.step.name,
        )

    # --- what exists before the first serve cell -----------------------------------------
    def _training(self, first: int) -> None:
        """Names the notebook's code binds before the first serve cell (and where first), the
        import statements among them, and the helpers and constants of the shared cells."""
        self.origins = dict(self.shared.origins)
        self.first_written: dict[str, int] = {}
        self.imported: dict[str, str] = {}
        self.star: list[Cell] = []
        for cell in [c for c in self.code if c.number < first]:
            facts = analysis.analyse([(cell.source, cell.number)], origins=self.origins)
            self.origins = facts.origins
            for name in facts.writes:
                self.first_written.setdefault(name, cell.number)
                self.imported.pop(name, None)
            self.imported.update(facts.imported)
            self.star += [Cell(s.cell or 0, "code", s.source) for s in facts.star_imports]
        self.definitions: dict[str, _Shared] = {}
        for cell in self.pipeline.imports + self.pipeline.functions:
            tree = parse(cell.source, cell.number)
            code = to_python(cell.source, cell.number)
            for stmt in tree.body:
                source = ast.get_source_segment(code, stmt) or ast.unparse(stmt)
                facts = analysis.analyse([(source, cell.number)])
                reads = {r.name for r in facts.reads + facts.late_reads}
                for name in facts.writes:
                    self.definitions[name] = _Shared(cell.number, source, reads - {name})
                if facts.star_import:
                    self.star.append(Cell(cell.number, "code", source))

    def _classify(self, facts: CodeFacts) -> tuple[list[Cell], set[str]]:
        """The prelude (shared statements and imports the cells use) and the values."""
        params = {p.name for p in self.pipeline.params}
        prelude: dict[str, Cell] = {}
        values: set[str] = set()
        todo = [(r.name, r.cell) for r in facts.reads + facts.late_reads]
        seen: set[str] = set()
        while todo:
            name, cell = todo.pop(0)
            if name in seen or name in BUILTIN_NAMES:
                continue
            seen.add(name)
            if name in self.imported:
                prelude.setdefault(
                    self.imported[name], Cell(cell or 0, "code", self.imported[name])
                )
            elif name in self.first_written or name in params:
                values.add(name)
            elif name in self.definitions:
                found = self.definitions[name]
                prelude.setdefault(found.source, Cell(found.cell, "code", found.source))
                todo += [(read, found.cell) for read in sorted(found.reads)]
            elif not self.star:
                raise ServeError(
                    f"the serve cells read {name!r}, which nothing before them makes: "
                    "a served model has only a request's rows and the values the notebook made "
                    "before its serve cells",
                    cell=cell,
                )
        ordered = sorted(prelude.values(), key=lambda c: c.number)
        return [*self.star, *ordered], values

    def _input(self, cell: Cell, values: set[str]) -> str:
        """The variable a request's rows are bound to."""
        params = {p.name for p in self.pipeline.params}
        named = self.group.serve_input
        if named is not None:
            number, name = named
            if name not in values:
                raise ServeError(
                    f"serve:{name} names {name!r}, which the serve cells do not read from "
                    "earlier cells",
                    cell=number,
                )
            return name
        tree = parse(cell.source, cell.number)
        loads = sorted(
            (node.lineno, node.col_offset, node.id)
            for node in ast.walk(tree)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
        )
        order = {name: index for index, (_, _, name) in reversed(list(enumerate(loads)))}
        candidates = [n for n in order if n in values and n not in params]
        if not candidates:
            raise ServeError(
                "the first serve cell reads no data made by earlier cells: it starts from what "
                "a request brings, e.g. `X = raw[COLUMNS]` (or tag it serve:NAME)",
                cell=cell.number,
            )
        return min(candidates, key=lambda n: (self.first_written[n], order[n]))

    # --- checks ------------------------------------------------------------------------------
    def _rules(self, served: list[Cell], facts: CodeFacts, values: set[str]) -> None:
        trees = [ast.parse(c.source) for c in served]
        # pd.get_dummies gives the training columns once categories are fixed before it, or
        # when the frame is reindexed to fixed columns after it.
        fixes = [serve_rules.fixes_categories(t) for t in trees]
        reindexes = [serve_rules.reindexes_columns(t) for t in trees]
        rebound = {n for n in facts.writes if n not in facts.changed}

        def origin(node: ast.AST) -> str | None:
            if isinstance(node, ast.Attribute):
                parent = origin(node.value)
                return f"{parent}.{node.attr}" if parent else None
            if isinstance(node, ast.Name):
                if node.id in facts.origins:
                    return facts.origins[node.id]
                if node.id in BUILTIN_NAMES and node.id not in facts.writes:
                    return node.id
            return None

        for index, (cell, tree) in enumerate(zip(served, trees, strict=True)):

            def fixed(line: int, index: int = index) -> bool:
                before = any(fixes[:index]) or any(f < line for f in fixes[index])
                return (
                    before
                    or any(reindexes[index + 1 :])
                    or any(r >= line for r in reindexes[index])
                )

            rules = serve_rules.Rules(
                cell.number, origin, lambda n: n in values and n not in rebound, fixed
            )
            rules.visit(tree)
            for problem in rules.problems:
                if problem.error:
                    raise ServeError(problem.message, cell=problem.cell)
                self.pipeline.warnings.append(Hazard(problem.cell, problem.message))

    def _between(self, first: int, last: int, names: set[str]) -> None:
        """A cell not tagged serve that changes the serve cells' data between them."""
        for cell in self.code:
            if not first < cell.number < last or cell.number in self.numbers:
                continue
            written = sorted(set(analysis.analyse([(cell.source, cell.number)]).writes) & names)
            if written:
                before = max(n for n in self.numbers if n < cell.number)
                after = min(n for n in self.numbers if n > cell.number)
                raise ServeError(
                    f"this cell is not tagged serve but changes {written[0]!r} between the "
                    f"serve cells {before} and {after}: the served model would not run it; tag "
                    f"it serve, or move it before cell {first} or after cell {last}",
                    cell=cell.number,
                )

    def _after(self, last: int, output: str) -> None:
        """A later cell that changes the output before the model sees it: the served model
        would predict on something else. Taking rows (`X.loc[train_idx]`) is fine; what
        follows the model's last use of it is not the model's business."""
        after = [c for c in self.code if c.number > last]
        used = [i for i, c in enumerate(after) if _model_call(c, {output})]
        for index, cell in enumerate(after[: used[-1] + 1] if used else after):
            tree = parse(cell.source, cell.number)
            body = tree.body
            if used and index == used[-1]:  # the statements before the model's last use
                calls = [i for i, stmt in enumerate(body) if _model_call(stmt, {output})]
                body = body[: calls[-1]]
            code = "\n".join(ast.unparse(stmt) for stmt in body)
            facts = analysis.analyse([(code, cell.number)], origins=self.origins)
            rebound = any(
                isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign))
                and any(_names(t, output) for t in _targets(node))
                and not _takes_rows(node.value, output)
                for stmt in body
                for node in ast.walk(stmt)
            )
            if output in facts.changed or rebound:
                raise ServeError(
                    f"this cell changes {output!r} after the serve cells made it (cell {last}): "
                    "the model would learn or predict on something the served model never "
                    "makes; do it in a serve cell, or change a copy",
                    cell=cell.number,
                )
            if output in facts.writes:
                return  # rebound to rows of itself: what follows reads those

    def _output(self, last: int, facts: CodeFacts) -> str:
        """What the model is fitted or predicts on: made by the serve cells, read later."""
        after = [c for c in self.code if c.number > last]
        later = analysis.analyse([(c.source, c.number) for c in after], origins=self.origins)
        read = {r.name for r in later.reads + later.late_reads}
        candidates = [n for n in facts.writes if n in read]
        if not candidates:
            raise ServeError(
                "nothing the serve cells make is read by a later cell: the model's input "
                "comes out of them (e.g. `X = ...` here, `model.fit(X, y)` in a later cell)",
                cell=last,
            )
        for cell in after:
            found = _model_call(cell, set(candidates))
            if found:
                return found
        return max(candidates, key=lambda n: (facts.write_cells.get(n) or 0, facts.writes.index(n)))


def _imports_only(source: str) -> bool:
    return all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in ast.parse(source).body)


def _targets(node: ast.AST) -> list[ast.AST]:
    return list(node.targets) if isinstance(node, ast.Assign) else [node.target]


def _names(target: ast.AST, name: str) -> bool:
    if isinstance(target, ast.Name):
        return target.id == name
    return isinstance(target, (ast.Tuple, ast.List)) and any(_names(t, name) for t in target.elts)


def _takes_rows(value: ast.AST | None, name: str) -> bool:
    """`X[mask]`, `X.loc[rows]`, `X.iloc[a:b]`, `X.head(n)`: rows of `name`, nothing else."""
    if isinstance(value, ast.Subscript):
        inner = value.value
        if isinstance(inner, ast.Attribute) and inner.attr in ("loc", "iloc"):
            inner = inner.value
        return isinstance(inner, ast.Name) and inner.id == name
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr in ("head", "tail", "copy")
        and isinstance(value.func.value, ast.Name)
        and value.func.value.id == name
    )


def _model_call(code: Cell | ast.AST, names: set[str]) -> str | None:
    """The first of `names` that a model is fitted or predicts on in a cell or a statement."""
    tree = parse(code.source, code.number) if isinstance(code, Cell) else code
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in MODEL_CALLS
            and node.args
            and base_name(node.args[0]) in names
        ):
            return base_name(node.args[0])
    return None
