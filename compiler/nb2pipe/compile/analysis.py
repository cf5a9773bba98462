"""Which names a piece of notebook code reads, binds, changes and deletes, found statically.

Cells may hold IPython syntax (`%magic`, `%%cell`, `!shell`): cellcode.py turns a cell into
the Python the kernel runs before `ast` reads it.

Reads are *free* reads: names used before this code binds them, in evaluation order, so
`df = df.dropna()` reads `df` while `for x in xs: print(x)` does not read `x`. Names a function
body reads are read when the function is called (`late_reads`); one that is not bound yet where
the function is defined may be the upstream value, so it is resolved like a read there.

A name is *written* when it is bound, and also when the code may change the object it names in
place (`df["x"] = …`, `del df["tmp"]`, `counts["k"] += 1`, `df.dropna(inplace=True)`,
`names.append(…)`, `model.fit(…)`, a helper that changes its argument): a later reader must get
the changed object, so the step that changes it is a producer of it (effects.py has the tables).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from .cellcode import parse, to_python
from .facts import CodeFacts, Function, Reads, Statement
from .visitor import Visitor


class NameAnalyser:
    """Accumulates `CodeFacts` over the statements of several cells, in notebook order.

    `known` names are bound before the code starts; `origins` maps imported names to their
    dotted origin (`np` → `numpy`); `functions` holds what earlier code's functions do.
    """

    def __init__(
        self,
        known: frozenset[str] | set[str] = frozenset(),
        cell: int | None = None,
        origins: dict[str, str] | None = None,
        functions: dict[str, Function] | None = None,
        star_modules: list[str] | None = None,
    ):
        self.facts = CodeFacts()
        self.facts.star_modules = list(star_modules or [])
        self._index = 0  # top-level statements seen so far
        self._cell = cell
        self._bound: set[str] = set(known)
        self._seen: set[str] = set()
        self._late_seen: set[str] = set()
        self.origins: dict[str, str] = dict(origins or {})
        self.functions: dict[str, Function] = dict(functions or {})
        self._statement: ast.stmt | None = None
        self._code = ""
        # Names that may be one object (`y = x`, `v = arr[:2]`, `d["k"] = x`, `for row in
        # rows`): a change made through one is a change of the others.
        self._aliases: dict[str, set[str]] = {}

    def add_cell(self, source: str, cell: int | None) -> ast.Module:
        tree = parse(source, cell, self._bound)
        self._cell = cell
        self._code = to_python(source, cell, self._bound)
        for stmt in tree.body:
            self._statement = stmt
            self._index += 1
            _visitor(self).visit(stmt)
            collect_shown(stmt, self.facts.shown)
        self._statement = None
        self.facts.origins = dict(self.origins)
        return tree

    # --- what the visitor asks -------------------------------------------------------------
    @property
    def cell(self) -> int | None:
        """The cell being read."""
        return self._cell

    def is_bound(self, name: str) -> bool:
        """Bound by this code so far (or known before it)."""
        return name in self._bound

    def bound_names(self) -> frozenset[str]:
        return frozenset(self._bound)

    def unbind(self, names: Iterable[str]) -> None:
        """Names that were local to an inner scope (a comprehension's variables)."""
        self._bound.difference_update(names)

    def nested(self, local: set[str], assigned: set[str]) -> NameAnalyser:
        """An analyser for a function body defined here: its `local` names are bound, names
        it assigns (`assigned`, its `global` ones too) lose this code's imports, and it
        knows this code's functions."""
        return NameAnalyser(
            local,
            self._cell,
            origins={k: v for k, v in self.origins.items() if k not in assigned},
            functions=self.functions,
        )

    # --- callbacks from the visitor -------------------------------------------------------
    def read(self, name: str) -> None:
        if name not in self._bound and name not in self._seen:
            self._seen.add(name)
            self.facts.reads.append(Reads(name, self._cell))

    def maybe_read(self, name: str) -> None:
        """A name that code in a string may read (`show('df1')` where `show` evaluates it)."""
        if name not in self._bound and all(r.name != name for r in self.facts.maybe_reads):
            self.facts.maybe_reads.append(Reads(name, self._cell))

    def late_read(self, name: str) -> None:
        # Bound earlier in this code: the function sees this code's own value.
        if name in self._bound:
            return
        if name not in self._late_seen:
            self._late_seen.add(name)
            self.facts.late_reads.append(Reads(name, self._cell))

    def bind(self, name: str, origin: str | None = None, statement: str | None = None) -> None:
        self._unalias(name)
        self._bound.add(name)
        self._write(name)
        self.facts.carried.discard(name)
        self.facts.changed.pop(name, None)
        self.facts.unpassable.pop(name, None)
        if origin is None:
            self.origins.pop(name, None)
            self.facts.imported.pop(name, None)
        else:
            self.origins[name] = origin
            if statement is not None:
                self.facts.imported[name] = statement

    def change(self, name: str) -> None:
        """The object `name` refers to may be changed in place here (and so may the objects
        that other names share with it)."""
        if name in self.origins:  # a module (or an imported function): a global setting
            self.setting()
            return
        for other in sorted(self._aliases.get(name, set()) | {name}):
            self.read(other)
            self._bound.add(other)
            self._write(other)
            self.facts.changed.setdefault(other, self._cell)

    def alias(self, name: str, others: set[str], produces: bool = True) -> None:
        """`name` may now share an object with each of `others` (and with what they share).

        With `produces`, an other that comes from an earlier step is produced here too: saved
        with `name`, so a later step that reads both gets one object (a view of its base)."""
        others = {o for o in others if o != name and o not in self.origins}
        if not others:
            return
        if produces:
            for other in sorted(others - self._bound):
                self.read(other)
                self._bound.add(other)
                self._write(other)
                self.facts.carried.add(other)
        group = {name}
        for other in others:
            group |= self._aliases.get(other, set()) | {other}
        group |= self._aliases.get(name, set())
        for member in group:
            self._aliases[member] = group - {member}

    def _unalias(self, name: str) -> None:
        for other in self._aliases.pop(name, set()):
            self._aliases.get(other, set()).discard(name)

    def delete(self, name: str) -> None:
        self.read(name)
        self._bound.discard(name)
        self._write(name)
        self.facts.deleted[name] = self._cell
        self.origins.pop(name, None)

    def _write(self, name: str) -> None:
        if name not in self.facts.writes:
            self.facts.writes.append(name)
        self.facts.write_cells[name] = self._cell
        self.facts.deleted.pop(name, None)

    def setting(self) -> None:
        """The current top-level statement changes a library's or the interpreter's state."""
        stmt = self._statement
        if stmt is None:
            return
        source = ast.get_source_segment(self._code, stmt) or ast.unparse(stmt)
        if any(s.source == source and s.cell == self._cell for s in self.facts.settings):
            return
        simple = isinstance(stmt, (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign))
        self.facts.settings.append(Statement(source, self._cell, simple, self._index))

    def star(self, statement: str, module: str | None = None) -> None:
        self.facts.star_import = True
        self.facts.star_imports.append(Statement(statement, self._cell, index=self._index))
        if module and module not in self.facts.star_modules:
            self.facts.star_modules.append(module)

    def imported_module(self, statement: str, module: str) -> None:
        """An import statement (replayed in later steps when its module is the project's)."""
        self.facts.imports.append(
            Statement(statement, self._cell, index=self._index, module=module)
        )

    def statement_source(self) -> str | None:
        stmt = self._statement
        if stmt is None:
            return None
        return ast.get_source_segment(self._code, stmt) or ast.unparse(stmt)


def _visitor(analyser: NameAnalyser) -> Visitor:
    return Visitor(analyser)


def definitions(source: str, cell: int | None = None) -> dict[str, set[str]]:
    """For each name a helper cell defines at top level, the global names its code reads."""
    out: dict[str, set[str]] = {}
    for stmt in parse(source, cell).body:
        analyser = NameAnalyser(cell=cell)
        _visitor(analyser).visit(stmt)
        reads = {r.name for r in [*analyser.facts.reads, *analyser.facts.late_reads]}
        for name in analyser.facts.writes:
            out.setdefault(name, set()).update(reads - {name})
    return out


def analyse(
    cells: list[tuple[str, int | None]],
    known=frozenset(),
    origins: dict[str, str] | None = None,
    functions: dict[str, Function] | None = None,
    star_modules: list[str] | None = None,
) -> CodeFacts:
    """Facts about a sequence of (source, cell number) run in order in one namespace."""
    analyser = NameAnalyser(known, origins=origins, functions=functions, star_modules=star_modules)
    for source, cell in cells:
        analyser.add_cell(source, cell)
    analyser.facts.origins = dict(analyser.origins)
    return analyser.facts


def collect_shown(stmt: ast.stmt, shown: list[str]) -> None:
    """Names a metrics cell shows: `print(acc)`, `display(acc)` or a bare `acc`."""
    names: list[str] = []
    if isinstance(stmt, ast.Expr):
        value = stmt.value
        if isinstance(value, ast.Name):
            names.append(value.id)
        elif isinstance(value, ast.Tuple):
            names += [e.id for e in value.elts if isinstance(e, ast.Name)]
        elif (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id in ("print", "display")
        ):
            names += [a.id for a in value.args if isinstance(a, ast.Name)]
    for name in names:
        if name not in shown:
            shown.append(name)
