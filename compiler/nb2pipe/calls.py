"""What calls do, for the name visitor (visitor.py): change an object, seed or draw from global
random state, change a global setting, end the notebook, or make a value that cannot cross a
step boundary. The tables behind these decisions are in effects.py.
"""

from __future__ import annotations

import ast

from . import effects
from .analysis import BUILTIN_NAMES, Function


def base_name(node: ast.AST) -> str | None:
    """`df` for `df`, `df["a"]`, `df.loc[m, "c"]`, `cfg.model.size`; None through a call."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _is_true(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


class CallEffects(ast.NodeVisitor):
    """The call-handling half of `visitor.Visitor` (which provides `self.sink`)."""

    def origin(self, node: ast.AST) -> str | None:
        """The dotted origin of `np.random.seed` (`numpy.random.seed`), if it is imported."""
        if isinstance(node, ast.Attribute):
            parent = self.origin(node.value)
            return f"{parent}.{node.attr}" if parent else None
        if isinstance(node, ast.Name):
            if node.id in self.sink.origins:
                return self.sink.origins[node.id]
            if node.id in BUILTIN_NAMES and node.id not in self.sink._bound:
                return node.id
        return None

    def _unpassable(self, value: ast.AST | None) -> str | None:
        if isinstance(value, ast.GeneratorExp):
            return "a generator"
        if not isinstance(value, ast.Call):
            return None
        func = value.func
        if isinstance(func, ast.Name) and func.id in self.sink.functions:
            return "a generator" if self.sink.functions[func.id].generator else None
        if isinstance(func, ast.Attribute):
            receiver = func.value
            if (
                isinstance(receiver, ast.Name)
                and receiver.id in self.sink.facts.unpassable
                and func.attr in effects.UNPASSABLE_METHODS
            ):  # `cur = conn.cursor()`: the cursor needs the connection
                return effects.UNPASSABLE_METHODS[func.attr]
            if func.attr == "open" and self.origin(func) is None:
                return "an open file"  # Path(...).open(), zipfile.open(...)
        origin = self.origin(func)
        if origin is None:
            return None
        keywords = frozenset(
            k.arg
            for k in value.keywords
            if k.arg and not (isinstance(k.value, ast.Constant) and k.value.value in (None, False))
        )
        return effects.unpassable(origin, keywords)

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        facts = self.sink.facts
        seeded = any(k.arg in ("random_state", "seed") for k in node.keywords)
        origin = self.origin(node.func)
        if origin:
            if origin in effects.EXITS:
                facts.exits = True
            if origin in effects.SEEDS:
                facts.seeds_random = True
            elif effects.draws_random(origin) and not seeded:
                facts.draws_random = True
            if effects.is_setting(origin):
                self.sink.setting()
            if origin in effects.MUTATES_FIRST_ARGUMENT and node.args:
                self._change(node.args[0])
        self._magic(node)
        if isinstance(node.func, ast.Attribute):
            self._method_call(node, seeded)
        for keyword in node.keywords:
            if keyword.arg == "out":
                self._change(keyword.value)
        if isinstance(node.func, ast.Name) and node.func.id in self.sink.functions:
            self._user_function_call(node, self.sink.functions[node.func.id])

    def _change(self, node: ast.AST) -> None:
        name = base_name(node)
        if name is not None:
            self.sink.change(name)

    def _method_call(self, node: ast.Call, seeded: bool) -> None:
        method = node.func.attr
        receiver = node.func.value
        if method in effects.DRAWING_METHODS and not seeded:
            self.sink.facts.draws_random = True
        if method == "shuffle" and node.args:  # rng.shuffle(x) changes x
            self._change(node.args[0])
        name = base_name(receiver)
        if name is None or name in self.sink.origins:
            return
        inplace = any(k.arg == "inplace" and _is_true(k.value) for k in node.keywords)
        direct = isinstance(receiver, ast.Name)
        if (
            inplace
            or method in effects.MUTATING_METHODS
            or (direct and method not in effects.PURE_METHODS)
        ):
            self.sink.change(name)

    def _user_function_call(self, node: ast.Call, function: Function) -> None:
        for index, arg in enumerate(node.args):
            if index < len(function.params) and function.params[index] in function.changes_params:
                self._change(arg)
        for keyword in node.keywords:
            if keyword.arg in function.changes_params:
                self._change(keyword.value)
        for name in sorted(function.changes_globals):
            self.sink.change(name)
        if function.decorated:  # `@lru_cache`, a call counter: the wrapper may change itself
            self.sink.change(node.func.id)
        self.sink.facts.draws_random |= function.draws_random
        self.sink.facts.seeds_random |= function.seeds_random

    def _magic(self, node: ast.Call) -> None:
        """`%matplotlib inline` and friends arrive as `get_ipython().run_line_magic(…)`."""
        func = node.func
        if not (
            isinstance(func, ast.Attribute)
            and func.attr in ("run_line_magic", "run_cell_magic")
            and isinstance(func.value, ast.Call)
            and isinstance(func.value.func, ast.Name)
            and func.value.func.id == "get_ipython"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            return
        magic = str(node.args[0].value)
        if magic in effects.SETTING_MAGICS or magic == "cd":
            self.sink.setting()
        elif magic == "run":
            # `%run script.py` defines whatever the script defines: like a star import.
            self.sink.star(self.sink.statement_source() or "")

    def visit_Raise(self, node: ast.Raise) -> None:
        self.generic_visit(node)
        raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        if isinstance(raised, ast.Name) and raised.id == "SystemExit":
            self.sink.facts.exits = True
