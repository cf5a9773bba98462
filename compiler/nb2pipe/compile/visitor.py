"""The AST walk behind `analysis.NameAnalyser`: one top-level statement at a time, in the order
Python evaluates it, reporting reads, bindings, in-place changes and deletions to the analyser;
what calls do is in calls.py."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .calls import CallEffects, base_name, evaluates_strings, is_generator
from .cellcode import TIMEIT_FUNCTION
from .facts import BUILTIN_NAMES, Function

if TYPE_CHECKING:  # the analyser drives the visitor; the visitor only reports to it
    from .analysis import NameAnalyser


class Visitor(CallEffects):
    """Visits one top-level statement in evaluation order, reporting to a `NameAnalyser`."""

    def __init__(self, sink: NameAnalyser):
        self.sink = sink

    # --- names ---------------------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.sink.read(node.id)
        elif isinstance(node.ctx, ast.Del):
            self.sink.delete(node.id)
        else:
            self.sink.bind(node.id)

    def _store(self, target: ast.AST, value: ast.AST | None) -> None:
        """Bind an assignment target; note a value that cannot be passed to another step."""
        if isinstance(target, ast.Name):
            self.sink.bind(target.id)
            if value is not None:
                self.sink.alias(target.id, self.shares(value), produces=self.is_view(value))
            kind = self._unpassable(value) if value is not None else None
            if kind:
                self.sink.facts.unpassable[target.id] = (kind, self.sink.cell)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._store(element, None)
        elif isinstance(target, ast.Starred):
            self._store(target.value, None)
        else:
            self.visit(target)

    def _changed_target(self, node: ast.Attribute | ast.Subscript) -> None:
        """`x.a = …`, `x[k] = …`, `del x[k]`: reads what the target needs, changes `x`."""
        self.visit(node.value)
        if isinstance(node, ast.Subscript):
            self.visit(node.slice)
        name = base_name(node)
        if name is not None:
            self.sink.change(name)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, ast.Load):
            self.generic_visit(node)
        else:
            self._changed_target(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.ctx, ast.Load):
            self.generic_visit(node)
        else:
            self._changed_target(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self._store(target, node.value)
            container = base_name(target) if not isinstance(target, ast.Name) else None
            if container is not None:  # d["k"] = x: d holds x
                self.sink.alias(container, self.shares(node.value), produces=False)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.target, ast.Name):
            self.sink.read(node.target.id)
            self.sink.bind(node.target.id)
        else:
            self._changed_target(node.target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
            self._store(node.target, node.value)
        self.visit(node.annotation)  # evaluated at module level: `x: MyType = …` reads MyType

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self._store(node.target, node.value)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self._store(node.target, None)
        for target in ast.walk(node.target):  # `for row in rows`: each row is part of rows
            if isinstance(target, ast.Name):
                self.sink.alias(target.id, self.shares(node.iter), produces=False)
        for stmt in node.body + node.orelse:
            self.visit(stmt)

    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self._store(item.optional_vars, None)
                kind = self._unpassable(item.context_expr)
                if kind and isinstance(item.optional_vars, ast.Name):
                    closed = f"{kind} (closed at the end of its `with` block)"
                    self.sink.facts.unpassable[item.optional_vars.id] = (closed, self.sink.cell)
        for stmt in node.body:
            self.visit(stmt)

    visit_AsyncWith = visit_With

    # --- imports ---------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.sink.facts.modules.add(alias.name.split(".")[0])
            if alias.asname:
                name, origin = alias.asname, alias.name
                statement = f"import {alias.name} as {alias.asname}"
            else:
                name = origin = alias.name.split(".")[0]
                statement = f"import {alias.name}"
            self.sink.bind(name, origin=origin, statement=statement)
            self.sink.imported_module(statement, alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = "." * node.level + (node.module or "")
        if node.module and not node.level:
            self.sink.facts.modules.add(node.module.split(".")[0])
        for alias in node.names:
            if alias.name == "*":
                self.sink.star(f"from {module} import *", module if not node.level else None)
                continue
            name = alias.asname or alias.name
            statement = f"from {module} import {alias.name}" + (
                f" as {alias.asname}" if alias.asname else ""
            )
            self.sink.bind(name, origin=f"{module}.{alias.name}", statement=statement)
            if node.module and not node.level:
                self.sink.imported_module(statement, node.module.split(".")[0])

    # --- scopes ----------------------------------------------------------------------------
    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if node.name == TIMEIT_FUNCTION:  # `%timeit stmt`: what stmt reads, nothing it binds
            self._late_scope(node.args, node.body)
            return
        for expr in [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults]:
            if expr is not None:
                self.visit(expr)
        function, globals_bound = self._late_scope(node.args, node.body, node.name)
        function.generator = is_generator(node)
        function.decorated = bool(node.decorator_list)
        self.sink.bind(node.name)
        for name in globals_bound:
            self.sink.bind(name)
        self.sink.functions[node.name] = function
        self.sink.facts.functions[node.name] = function

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for expr in [*node.args.defaults, *node.args.kw_defaults]:
            if expr is not None:
                self.visit(expr)
        for name in self._late_scope(node.args, [node.body])[1]:
            self.sink.bind(name)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(expr)
        function, globals_bound = self._late_scope(None, node.body, node.name)
        self.sink.bind(node.name)
        for name in globals_bound:
            self.sink.bind(name)
        if function.evaluates:  # calling the class passes strings its methods evaluate
            self.sink.functions[node.name] = Function(evaluates=True)
            self.sink.facts.functions[node.name] = self.sink.functions[node.name]

    def _late_scope(
        self, args: ast.arguments | None, body: list[ast.AST], name: str | None = None
    ) -> tuple[Function, list[str]]:
        """Names a body reads from globals (resolved when it is called), what it changes, and
        the globals it binds (`global x; x = …`), for the caller to bind after its name."""
        local = _Scope()
        params: list[str] = []
        if args is not None:
            for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
                if a is not None:
                    params.append(a.arg)
        local.bound.update(params)
        for stmt in body:
            _BindingsCollector(local).visit(stmt)
        outer = self.sink
        inner = outer.nested(local.bound - local.declared_global, local.bound)
        for stmt in body:
            Visitor(inner).visit(stmt)
        free = [
            r.name
            for r in [*inner.facts.reads, *inner.facts.late_reads]
            if r.name not in local.bound or r.name in local.declared_global
        ]
        for read in free:
            outer.late_read(read)
        if name is not None:
            outer.facts.function_late_reads[name] = sorted(set(free) - BUILTIN_NAMES - {name})
        globals_bound = [n for n in inner.facts.writes if n in local.declared_global]
        outer.facts.modules |= inner.facts.modules
        changed = set(inner.facts.changed)
        function = Function(
            params=params,
            changes_params=changed & set(params),
            changes_globals={n for n in changed if n not in local.bound}
            | (local.declared_global & set(inner.facts.writes)),
            draws_random=inner.facts.draws_random,
            seeds_random=inner.facts.seeds_random,
            evaluates=evaluates_strings(body),
        )
        return function, globals_bound

    def _comprehension(self, node, elements: list[ast.AST]) -> None:
        # The first iterable runs in the enclosing scope; targets are local to the comprehension.
        first, *rest = node.generators
        self.visit(first.iter)
        local = {
            n.id for gen in node.generators for n in ast.walk(gen.target) if isinstance(n, ast.Name)
        }
        sink = self.sink
        outer_bound = sink.bound_names()
        outer_writes = list(sink.facts.writes)
        for gen in node.generators:
            if gen is not first:
                self.visit(gen.iter)
            _BindTargets(sink).visit(gen.target)
            for cond in gen.ifs:
                self.visit(cond)
        for element in elements:
            self.visit(element)
        # Comprehension variables do not leak into the enclosing scope (walrus targets do).
        leaked = (sink.bound_names() - outer_bound) & local
        sink.unbind(leaked)
        for name in leaked:
            if name in sink.facts.writes and name not in outer_writes:
                sink.facts.writes.remove(name)
            sink.facts.changed.pop(name, None)

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


class _BindTargets(Visitor):
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
