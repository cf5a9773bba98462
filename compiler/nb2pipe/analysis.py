"""Which names a piece of notebook code reads and assigns, found statically.

Cells may hold IPython syntax (`%magic`, `%%cell`, `!shell`): such a cell goes through
IPython's own input transformer before `ast`, exactly as the kernel would run it. Plain Python
skips the transformer (and its ~0.2 s import).

Reads are *free* reads: names used before this code binds them, in evaluation order, so
`df = df.dropna()` reads `df` while `for x in xs: print(x)` does not read `x`. Names used inside
function bodies are read when the function is called, so they are resolved against everything
the code binds (`late_reads`).
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

from .errors import CodeError

# Names a Jupyter kernel provides besides Python's builtins.
KERNEL_NAMES = frozenset(
    {
        "get_ipython",
        "display",
        "In",
        "Out",
        "exit",
        "quit",
        "_",
        "__",
        "___",
        "_ih",
        "_oh",
        "_dh",
        "__file__",
        "__name__",
        "__builtins__",
        "__doc__",
    }
)
BUILTIN_NAMES = frozenset(dir(builtins)) | KERNEL_NAMES


# Magics whose argument is Python run in the user namespace: analyse that code, else the
# names it assigns would be invisible behind `run_line_magic('time', 'x = f()')`.
_TRANSPARENT_CELL_MAGICS = ("%%time", "%%timeit", "%%capture")
_TRANSPARENT_LINE_MAGICS = ("%time ", "%timeit ")


def _unwrap_timing_magics(source: str) -> str:
    lines = source.splitlines()
    if lines and lines[0].split(" ")[0] in _TRANSPARENT_CELL_MAGICS:
        magic, *args = lines[0].split()
        lines = lines[1:]
        names = [a for a in args if not a.startswith("-")]
        if magic == "%%capture" and names and names[0].isidentifier():
            lines.append(f"{names[0]} = None")  # %%capture NAME assigns NAME
    out = []
    for line in lines:
        stripped = line.lstrip()
        for magic in _TRANSPARENT_LINE_MAGICS:
            if stripped.startswith(magic):
                line = line[: len(line) - len(stripped)] + stripped[len(magic) :].lstrip()
                if magic == "%timeit " and line.lstrip().startswith("-"):
                    line = line[: len(line) - len(line.lstrip())] + "pass"  # options: skip
        out.append(line)
    return "\n".join(out)


def to_python(source: str, cell: int | None = None) -> str:
    """The Python the kernel runs for this cell's source (IPython syntax transformed)."""
    source = _unwrap_timing_magics(source) if "%time" in source or "%%capture" in source else source
    try:
        ast.parse(source)
        return source
    except SyntaxError:
        pass
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def parse(source: str, cell: int | None = None) -> ast.Module:
    code = to_python(source, cell)
    try:
        return ast.parse(code)
    except SyntaxError as e:
        raise CodeError(f"line {e.lineno}: {e.msg}", cell=cell) from None


@dataclass
class Reads:
    """A name read, and the cell it is first read in."""

    name: str
    cell: int | None


@dataclass
class CodeFacts:
    """What one step's (or one cell group's) code does with names."""

    reads: list[Reads] = field(default_factory=list)  # free reads, first use order
    late_reads: list[Reads] = field(default_factory=list)  # reads inside function bodies
    writes: list[str] = field(default_factory=list)  # names bound at top level, first-bind order
    modules: set[str] = field(default_factory=set)  # top-level modules imported
    star_import: bool = False
    shown: list[str] = field(default_factory=list)  # names printed or shown as bare expressions


class NameAnalyser:
    """Accumulates `CodeFacts` over the statements of several cells, in notebook order."""

    def __init__(self, known: frozenset[str] | set[str] = frozenset(), cell: int | None = None):
        self.facts = CodeFacts()
        self._cell = cell
        self._bound: set[str] = set(known)
        self._seen: set[str] = set()
        self._late_seen: set[str] = set()

    def add_cell(self, source: str, cell: int | None) -> ast.Module:
        tree = parse(source, cell)
        self._cell = cell
        for stmt in tree.body:
            _Visitor(self).visit(stmt)
            _collect_shown(stmt, self.facts.shown)
        return tree

    # --- callbacks from the visitor -------------------------------------------------------
    def read(self, name: str) -> None:
        if name not in self._bound and name not in self._seen:
            self._seen.add(name)
            self.facts.reads.append(Reads(name, self._cell))

    def late_read(self, name: str) -> None:
        if name not in self._late_seen:
            self._late_seen.add(name)
            self.facts.late_reads.append(Reads(name, self._cell))

    def bind(self, name: str) -> None:
        self._bound.add(name)
        if name not in self.facts.writes:
            self.facts.writes.append(name)


class _Visitor(ast.NodeVisitor):
    """Visits one top-level statement in evaluation order, reporting to a `NameAnalyser`."""

    def __init__(self, sink: NameAnalyser):
        self.sink = sink

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.sink.read(node.id)
        else:
            self.sink.bind(node.id)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.target, ast.Name):
            self.sink.read(node.target.id)
        self.visit(node.target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
            self.visit(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.visit(node.target)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.visit(node.target)
        for stmt in node.body + node.orelse:
            self.visit(stmt)

    visit_AsyncFor = visit_For

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.sink.facts.modules.add(alias.name.split(".")[0])
            self.sink.bind(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and not node.level:
            self.sink.facts.modules.add(node.module.split(".")[0])
        for alias in node.names:
            if alias.name == "*":
                self.sink.facts.star_import = True
            else:
                self.sink.bind(alias.asname or alias.name)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for expr in [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults]:
            if expr is not None:
                self.visit(expr)
        self.sink.bind(node.name)
        self._late_scope(node.args, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for expr in [*node.args.defaults, *node.args.kw_defaults]:
            if expr is not None:
                self.visit(expr)
        self._late_scope(node.args, [node.body])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(expr)
        self.sink.bind(node.name)
        self._late_scope(None, node.body)

    def _late_scope(self, args: ast.arguments | None, body: list[ast.AST]) -> None:
        """Names a function body reads from globals, resolved when it is called."""
        local = _Scope()
        if args is not None:
            for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
                if a is not None:
                    local.bound.add(a.arg)
        for stmt in body:
            _BindingsCollector(local).visit(stmt)
        inner = NameAnalyser(local.bound - local.declared_global, self.sink._cell)
        for stmt in body:
            _Visitor(inner).visit(stmt)
        for r in [*inner.facts.reads, *inner.facts.late_reads]:
            if r.name not in local.bound or r.name in local.declared_global:
                self.sink.late_read(r.name)
        for name in local.declared_global & set(inner.facts.writes):
            self.sink.bind(name)
        self.sink.facts.modules |= inner.facts.modules

    def _comprehension(self, node, elements: list[ast.AST]) -> None:
        # The first iterable runs in the enclosing scope; targets are local to the comprehension.
        first, *rest = node.generators
        self.visit(first.iter)
        local = {
            n.id for gen in node.generators for n in ast.walk(gen.target) if isinstance(n, ast.Name)
        }
        outer_bound = set(self.sink._bound)
        for gen in node.generators:
            if gen is not first:
                self.visit(gen.iter)
            _BindTargets(self.sink).visit(gen.target)
            for cond in gen.ifs:
                self.visit(cond)
        for element in elements:
            self.visit(element)
        # Comprehension variables do not leak into the enclosing scope (walrus targets do).
        leaked = (self.sink._bound - outer_bound) & local
        self.sink._bound -= leaked
        for name in leaked:
            if name in self.sink.facts.writes:
                self.sink.facts.writes.remove(name)

    def visit_ListComp(self, node: ast.ListComp) -> None:
        self._comprehension(node, [node.elt])

    visit_SetComp = visit_ListComp
    visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._comprehension(node, [node.key, node.value])

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self.sink.bind(node.name)
        for stmt in node.body:
            self.visit(stmt)

    def visit_Global(self, node: ast.Global) -> None:
        pass

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.pattern is not None:
            self.visit(node.pattern)
        if node.name:
            self.sink.bind(node.name)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self.sink.bind(node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        self.generic_visit(node)
        if node.rest:
            self.sink.bind(node.rest)


class _BindTargets(_Visitor):
    """Visits an assignment target: every name in it is bound."""


@dataclass
class _Scope:
    bound: set[str] = field(default_factory=set)
    declared_global: set[str] = field(default_factory=set)


class _BindingsCollector(ast.NodeVisitor):
    """Names bound anywhere in a function body (Python makes them local), not in nested scopes."""

    def __init__(self, scope: _Scope):
        self.scope = scope

    def visit_Name(self, node: ast.Name) -> None:
        if not isinstance(node.ctx, ast.Load):
            self.scope.bound.add(node.id)

    def visit_FunctionDef(self, node) -> None:
        self.scope.bound.add(node.name)

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_ClassDef = visit_FunctionDef

    def visit_Lambda(self, node) -> None:
        pass

    def visit_Import(self, node) -> None:
        for alias in node.names:
            self.scope.bound.add(alias.asname or alias.name.split(".")[0])

    visit_ImportFrom = visit_Import

    def visit_Global(self, node) -> None:
        self.scope.declared_global.update(node.names)

    visit_Nonlocal = visit_Global

    def visit_ExceptHandler(self, node) -> None:
        if node.name:
            self.scope.bound.add(node.name)
        self.generic_visit(node)

    def visit_ListComp(self, node) -> None:
        pass

    visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_ListComp


def _collect_shown(stmt: ast.stmt, shown: list[str]) -> None:
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


def definitions(source: str, cell: int | None = None) -> dict[str, set[str]]:
    """For each name a helper cell defines at top level, the global names its code reads."""
    out: dict[str, set[str]] = {}
    for stmt in parse(source, cell).body:
        analyser = NameAnalyser(cell=cell)
        _Visitor(analyser).visit(stmt)
        reads = {r.name for r in [*analyser.facts.reads, *analyser.facts.late_reads]}
        for name in analyser.facts.writes:
            out.setdefault(name, set()).update(reads - {name})
    return out


def analyse(cells: list[tuple[str, int | None]], known=frozenset()) -> CodeFacts:
    """Facts about a sequence of (source, cell number) run in order in one namespace."""
    analyser = NameAnalyser(known)
    for source, cell in cells:
        analyser.add_cell(source, cell)
    return analyser.facts
