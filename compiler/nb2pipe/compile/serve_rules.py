"""What a `serve` cell may not do: a prediction request is not the notebook's data.

In the notebook a serve cell runs once, on the training rows (or all rows); served, it runs on
each request's few rows. Code that computes over the rows at hand (`df.x.mean()`, `.max()`,
`groupby`, `pd.get_dummies` without fixed categories, `fit`), keeps, drops or reorders them
(`dropna`, `sort_values`), reads a file or the network, or runs a command would then compute
something else than the notebook did: an error, with the fix. Drawing random numbers is a
warning. serve.py applies these rules to the statements that run when serving: a statement that
only shows a value (`X.head()`, `print(X.shape)`) is left out of the served cell (`served`).

Calls are named by their dotted origin as in effects.py (`np.mean` is ``numpy.mean``); a method
call is named by its method. A method called on a value from training (`stats.mean()` on a
frame the notebook computed before) is the same at every request and is allowed.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

from . import effects, serve_calls
from .calls import base_name

_FIX_AGGREGATE = (
    "compute it in a training step before the serve cells (e.g. `x_mean = train.x.mean()`) "
    "and read that value here"
)


@dataclass
class Problem:
    cell: int
    message: str
    error: bool = True


def _snippet(node: ast.AST) -> str:
    text = " ".join(ast.unparse(node).split())
    return f"`{text if len(text) <= 60 else text[:59] + '…'}`"


def _across_columns(call: ast.Call) -> bool:
    for keyword in call.keywords:
        if keyword.arg == "axis" and isinstance(keyword.value, ast.Constant):
            return keyword.value.value in (1, "columns")
    return False


def shows_only(stmt: ast.stmt) -> bool:
    """A top-level expression whose only effect is to show something: `X.head()`, `X`,
    `print(X.shape)`, `display(X)`. The served cell leaves it out."""
    if not isinstance(stmt, ast.Expr):
        return False
    value = stmt.value
    if isinstance(value, (ast.Name, ast.Attribute, ast.Subscript, ast.Constant, ast.Tuple)):
        return True
    if not isinstance(value, ast.Call):
        return False
    if isinstance(value.func, ast.Name) and value.func.id in ("print", "display"):
        return True
    return (
        isinstance(value.func, ast.Attribute)
        and value.func.attr in effects.PURE_METHODS
        and not any(k.arg == "inplace" for k in value.keywords)
    )


def served(code: str, tree: ast.Module) -> str:
    """`code` as the served model runs it: statements that only show a value left out (a
    comment in their place keeps the line numbers), unless they share a line with others."""
    lines = code.splitlines(keepends=True)
    body = tree.body
    for index in range(len(body) - 1, -1, -1):
        stmt = body[index]
        if not shows_only(stmt):
            continue
        start, end = stmt.lineno - 1, stmt.end_lineno or stmt.lineno
        neighbours = [s for s in body if s is not stmt]
        if any(s.lineno <= end and (s.end_lineno or s.lineno) >= start + 1 for s in neighbours):
            continue  # `a = 1; X.head()`: kept whole (displays do nothing when serving)
        indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
        placeholder = [f"{indent}# shown in the notebook, not run when serving\n"]
        lines[start:end] = placeholder + ["\n"] * (end - start - 1)
    return "".join(lines)


class Rules(ast.NodeVisitor):
    """Finds what cannot be served in one serve cell's served statements.

    `origin` names a call's dotted origin (None if not imported); `trained` is whether a name
    holds a value from training at this point (a method called on it computes the same at every
    request); `categories_fixed` whether the serve cells fix categories or reindex columns, which
    makes `pd.get_dummies` give the training columns.
    """

    def __init__(
        self,
        cell: int,
        origin: Callable[[ast.AST], str | None],
        trained: Callable[[str], bool],
        categories_fixed: Callable[[int], bool],
    ):
        self.cell = cell
        self.origin = origin
        self.trained = trained
        self.categories_fixed = categories_fixed
        self.problems: list[Problem] = []

    def _error(self, node: ast.AST, message: str) -> None:
        self.problems.append(Problem(self.cell, f"{_snippet(node)} {message}"))

    def _on_request(self, node: ast.AST) -> bool:
        """Whether `node` may hold request data (not a value from training)."""
        name = base_name(node)
        return name is None or not self.trained(name)

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        origin = self.origin(node.func)
        if origin is not None:
            self._library_call(node, origin)
        if isinstance(node.func, ast.Attribute):
            self._method_call(node, node.func.attr, node.func.value)
        if isinstance(node.func, ast.Name) and node.func.id == "get_ipython":
            self._error(node, "is IPython: magics and shell commands do not run in a served model")

    def _library_call(self, node: ast.Call, origin: str) -> None:
        top = origin.split(".")[0]
        if top in serve_calls.NETWORK or any(
            origin.startswith(n + ".") for n in serve_calls.NETWORK
        ):
            self._error(
                node,
                "reaches the network: a served model answers from its inputs and "
                "the values it was published with; look the value up in a training step",
            )
        elif origin in serve_calls.FILE_READS or origin.startswith("pandas.read_"):
            self._error(
                node,
                "reads a file: the served model has only its inputs and the values "
                "it was published with; read the file in a training step and use the "
                "value here",
            )
        elif any(origin == c or origin.startswith(c + ".") for c in serve_calls.COMMANDS):
            self._error(node, "runs a command, which a served model cannot do")
        elif origin in ("pandas.get_dummies",):
            self._dummies(node)
        elif origin in serve_calls.FITTING_FUNCTIONS | serve_calls.CATEGORIES_FROM_ROWS:
            if node.args and self._on_request(node.args[0]):
                fits = origin in serve_calls.FITTING_FUNCTIONS
                (self._fits if fits else self._categories)(node)
        elif origin == "pandas.qcut" or (
            origin == "pandas.cut" and len(node.args) > 1 and _is_int(node.args[1])
        ):
            self._error(
                node,
                "cuts by the quantiles or range of the rows at hand: served, "
                "they would be the request's; pass the training bin edges instead",
            )
        elif (
            origin.startswith(("numpy.", "statistics.", "scipy.stats."))
            and origin.rsplit(".", 1)[-1] in serve_calls.NUMPY_OVER_ROWS | {"fmean"}
            and not origin.startswith("numpy.random.")
            and not _across_columns(node)
            and node.args
            and self._on_request(node.args[0])
        ):
            self._aggregate(node)
        if origin.startswith(("numpy.random.", "random.")):
            self._random(node)

    def _method_call(self, node: ast.Call, method: str, receiver: ast.AST) -> None:
        if method in serve_calls.FILE_METHODS:
            self._error(
                node,
                "reads files: the served model has only its inputs and the values "
                "it was published with; read them in a training step",
            )
            return
        if method in serve_calls.FITS:
            self._fits(node)
            return
        if method == "astype" and node.args and _is_text(node.args[0], "category"):
            self._categories(node)
            return
        name = base_name(receiver)
        inplace = any(k.arg == "inplace" and _is_text(k.value, True) for k in node.keywords)
        if (
            name is not None
            and self.trained(name)
            and (inplace or method in effects.MUTATING_METHODS)
        ):
            self._changes(node, name)
            return
        if method in serve_calls.DRAWS and name is not None:
            self._random(node)
            return
        if not self._on_request(receiver):
            return
        if method == "get_dummies":
            self._dummies(node)
        elif method in serve_calls.OVER_ROWS and not _across_columns(node):
            self._aggregate(node)
        elif (
            method in serve_calls.BY_NAME
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value in serve_calls.OVER_ROWS
            and not _across_columns(node)
        ):
            self._aggregate(node)  # x.transform("mean"): the mean of the rows at hand
        elif method in serve_calls.CATEGORIES_FROM_ROWS:
            self._categories(node)
        elif method in serve_calls.ROW_SHAPING or (method == "fillna" and _fill_method(node)):
            self._error(
                node,
                "keeps, drops, reorders or fills from the rows at hand: the served "
                "model must answer every request row, in order, from that row alone; "
                "fill with values from training instead",
            )

    def _changes(self, node: ast.AST, name: str) -> None:
        self._error(
            node,
            f"changes {name!r}, a value from training, in place: every request would change "
            "it again; change a copy",
        )

    def _target(self, target: ast.AST) -> None:
        if isinstance(target, (ast.Subscript, ast.Attribute)):
            name = base_name(target)
            if name is not None and self.trained(name):
                self._changes(target, name)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._target(element)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.generic_visit(node)
        for target in node.targets:
            self._target(target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.generic_visit(node)
        self._target(node.target)

    def visit_Delete(self, node: ast.Delete) -> None:
        self.generic_visit(node)
        for target in node.targets:
            self._target(target)

    def _aggregate(self, node: ast.Call) -> None:
        self._error(
            node,
            "computes over the rows at hand: served, it would use the request's "
            f"rows instead of the training rows; {_FIX_AGGREGATE}",
        )

    def _fits(self, node: ast.Call) -> None:
        self._error(
            node,
            "fits on the rows at hand: served, it would fit on each request; "
            "fit it in a training step and call `.transform`/`.predict` here",
        )

    def _categories(self, node: ast.Call) -> None:
        self._error(
            node,
            "takes its categories from the rows at hand, which a request has "
            "only some of; give the training categories (pd.CategoricalDtype(CATS))",
        )

    def _dummies(self, node: ast.Call) -> None:
        if self.categories_fixed(node.lineno):
            return
        self._error(
            node,
            "makes one column per category found in the rows at hand, and a "
            "request holds only some of them; fix the categories first "
            "(pd.Categorical(x, categories=CATEGORIES)) or reindex to the training "
            "columns",
        )

    def _random(self, node: ast.Call) -> None:
        self.problems.append(
            Problem(
                self.cell,
                f"{_snippet(node)} draws random numbers: served, each request gets other "
                "numbers than the notebook's rows did",
                error=False,
            )
        )


def fixes_categories(tree: ast.AST) -> list[int]:
    """Lines where code fixes categories: `pd.Categorical(x, categories=…)`, a
    CategoricalDtype, `.cat.set_categories`."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and _called(node.func) in serve_calls.CATEGORIES_FIXED
        and (node.args[1:] or node.keywords or _called(node.func) != "Categorical")
    ]


def reindexes_columns(tree: ast.AST) -> list[int]:
    """Lines where code gives a frame fixed columns: `.reindex(columns=…)`."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and _called(node.func) == "reindex"
        and any(k.arg == "columns" for k in node.keywords)
    ]


def _called(func: ast.AST) -> str | None:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def _is_int(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int


def _is_text(node: ast.AST, text: str) -> bool:
    return isinstance(node, ast.Constant) and node.value == text


def _fill_method(node: ast.Call) -> bool:
    return any(
        k.arg == "method" and not (isinstance(k.value, ast.Constant) and k.value.value is None)
        for k in node.keywords
    )
