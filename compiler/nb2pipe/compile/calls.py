"""What calls do, for the name visitor (visitor.py): change an object, seed or draw from global
random state, change a global setting, end the notebook, or make a value that cannot cross a
step boundary. The tables behind these decisions are in effects.py.
"""

from __future__ import annotations

import ast

from . import effects
from .facts import BUILTIN_NAMES, Function


def base_name(node: ast.AST) -> str | None:
    """`df` for `df`, `df["a"]`, `df.loc[m, "c"]`, `cfg.model.size`; None through a call."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _names_in(text: str) -> list[str]:
    """The names an expression written in a string reads (none if it is not one)."""
    if len(text) > 1000:
        return []
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError):
        return []
    return [n.id for n in ast.walk(tree) if isinstance(n, ast.Name)]


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
            if self.sink.is_bound(node.id):
                return None
            if node.id in BUILTIN_NAMES:
                return node.id
            return self._star_origin(node.id)
        return None

    def _star_origin(self, name: str) -> str | None:
        """`init_printing` after `from sympy import *`: the origin it may have. With one star
        import, the name is taken to come from it; with several, only a setting is recognised
        (which star module holds the name is unknown, and a setting must not be missed)."""
        modules = self.sink.facts.star_modules
        if len(modules) == 1:
            return f"{modules[0]}.{name}"
        for module in modules:
            if effects.is_setting(f"{module}.{name}"):
                return f"{module}.{name}"
        return None

    def shares(self, node: ast.AST) -> set[str]:
        """Names whose object the value of `node` may be, hold, or view: `x`, `x[1:]`, `x.T`,
        `x.reshape(2, 2)`, `[x, y]`, `np.asarray(x)`; none through other calls."""
        if isinstance(node, ast.Name):
            return set() if node.id in self.sink.origins else {node.id}
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            return self.shares(node.value)
        if isinstance(node, (ast.Starred, ast.NamedExpr)):
            return self.shares(node.value)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return set().union(*(self.shares(e) for e in node.elts))
        if isinstance(node, ast.Dict):
            return set().union(*(self.shares(v) for v in node.values))
        if isinstance(node, ast.IfExp):
            return self.shares(node.body) | self.shares(node.orelse)
        if isinstance(node, ast.BoolOp):
            return set().union(*(self.shares(v) for v in node.values))
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in effects.VIEW_METHODS:
                return self.shares(node.func.value)
            origin = self.origin(node.func)
            if origin in effects.VIEW_FUNCTIONS and node.args:
                return self.shares(node.args[0])
        return set()

    def is_view(self, node: ast.AST) -> bool:
        """Whether `node` is another name for an object or likely a view of its memory: `x`,
        `x[:2]`, `x[1:, 0]`, `x.T`, `x.reshape(…)`, `np.asarray(x)`. A column or an item
        (`df["a"]`, `d[k]`, `x[0]`) is not counted: pandas copies, and counting every item
        taken from a frame would save the frame again in every step that takes one."""
        if isinstance(node, ast.Name):
            return True
        if isinstance(node, ast.Subscript):
            return any(isinstance(n, ast.Slice) for n in ast.walk(node.slice)) and self.is_view(
                node.value
            )
        if isinstance(node, ast.Attribute):
            return node.attr in ("T", "real", "imag") and self.is_view(node.value)
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in effects.VIEW_METHODS:
                return node.func.attr not in ("get", "setdefault", "pop", "to_numpy") and (
                    self.is_view(node.func.value)
                )
            return self.origin(node.func) in effects.VIEW_FUNCTIONS
        return False

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
            if origin in effects.SHELL_CALLS:
                facts.shell = True
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
        if method in effects.STORING_METHODS:  # rows.append(row): rows now holds row
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                self.sink.alias(name, self.shares(arg), produces=False)
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
        if function.evaluates:  # `show('df1', 'pd.concat([a, b])')`: what the strings read
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    for name in _names_in(arg.value):
                        self.sink.maybe_read(name)

    def _magic(self, node: ast.Call) -> None:
        """`%matplotlib inline` and friends arrive as `get_ipython().run_line_magic(…)`, `!ls`
        as `get_ipython().system(…)`."""
        func = node.func
        if not (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Call)
            and isinstance(func.value.func, ast.Name)
            and func.value.func.id == "get_ipython"
        ):
            return
        if func.attr in ("system", "getoutput"):
            self.sink.facts.shell = True
        if not (
            func.attr in ("run_line_magic", "run_cell_magic")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            return
        magic = str(node.args[0].value)
        if magic in effects.SHELL_MAGICS:
            self.sink.facts.shell = True
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


def is_generator(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether the function's own body (not a nested one) yields."""
    todo: list[ast.AST] = list(node.body)
    while todo:
        item = todo.pop()
        if isinstance(item, (ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        todo.extend(ast.iter_child_nodes(item))
    return False


def evaluates_strings(body: list[ast.AST]) -> bool:
    """Whether a body runs code given as strings (`eval(a)`): its string arguments are code."""
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "eval"
        for stmt in body
        for n in ast.walk(stmt)
    )
