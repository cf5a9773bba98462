"""Assertions on a pipeline's metrics: ``"accuracy >= 0.8"``, ``"0 < loss < 1 and f1 > 0.5"``.

An assertion is a comparison of metric names and numbers, joined by ``and`` / ``or``. It is
parsed with `ast` and evaluated by walking the tree: only names, numbers (and their sign),
comparisons (``< <= > >= == !=``) and ``and`` / ``or`` are accepted, so an assertion can
never run code. Names are the metrics the pipeline's ``metrics`` cells record.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass

from ..errors import Nb2PipeError

_COMPARE = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_REFUSED = {ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not"}


class AssertionSyntaxError(Nb2PipeError):
    """An assertion that is not a comparison of metrics and numbers (bad input, exit 2)."""


@dataclass(frozen=True)
class MetricAssertion:
    text: str
    tree: ast.expr
    names: tuple[str, ...]  # the metrics it reads, in order of appearance
    cell: int | None = None  # the source cell that declares it, if a cell does

    def evaluate(self, metrics: dict[str, float]) -> bool:
        """Whether it holds; every name must be in `metrics`."""
        return bool(_evaluate(self.tree, metrics))

    def values(self, metrics: dict[str, float]) -> str:
        """``accuracy = 0.75, f1 = 0.5``: the metric values it read, for a failure message."""
        return ", ".join(f"{name} = {metrics[name]:.6g}" for name in self.names)


def parse_assertion(text: str, *, cell: int | None = None) -> MetricAssertion:
    """Parse and check one assertion; raise `AssertionSyntaxError` saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise AssertionSyntaxError(f"assertion {text!r}: expected a comparison such as 'f1 > 0.5'")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as e:
        raise AssertionSyntaxError(f"assertion {text!r}: not valid syntax ({e.msg})") from None
    if not isinstance(tree, (ast.Compare, ast.BoolOp)):
        raise AssertionSyntaxError(
            f"assertion {text!r}: expected a comparison such as 'accuracy >= 0.8'"
        )
    names: list[str] = []
    _check(tree, text, names)
    return MetricAssertion(text.strip(), tree, tuple(dict.fromkeys(names)), cell)


def _check(node: ast.AST, text: str, names: list[str]) -> None:
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            if not isinstance(value, (ast.Compare, ast.BoolOp)):
                raise AssertionSyntaxError(
                    f"assertion {text!r}: each side of 'and' / 'or' must be a comparison"
                )
            _check(value, text, names)
    elif isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in _COMPARE:
                symbol = _REFUSED.get(type(op), type(op).__name__)
                raise AssertionSyntaxError(
                    f"assertion {text!r}: {symbol!r} is not allowed (use < <= > >= == !=)"
                )
        for operand in (node.left, *node.comparators):
            _check_operand(operand, text, names)
    else:
        raise AssertionSyntaxError(f"assertion {text!r}: unexpected {_describe(node)}")


def _check_operand(node: ast.AST, text: str, names: list[str]) -> None:
    if isinstance(node, ast.Name):
        names.append(node.id)
        return
    inner = node.operand if isinstance(node, ast.UnaryOp) else node
    signed = inner is node or isinstance(node.op, (ast.USub, ast.UAdd))
    if signed and isinstance(inner, ast.Constant) and _is_number(inner.value):
        return
    raise AssertionSyntaxError(
        f"assertion {text!r}: only metric names and numbers can be compared, not {_describe(node)}"
    )


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _describe(node: ast.AST) -> str:
    try:
        return f"{type(node).__name__.lower()} {ast.unparse(node)!r}"
    except Exception:
        return type(node).__name__.lower()


def _evaluate(node: ast.AST, metrics: dict[str, float]):
    if isinstance(node, ast.BoolOp):
        results = (_evaluate(v, metrics) for v in node.values)
        return all(results) if isinstance(node.op, ast.And) else any(results)
    if isinstance(node, ast.Compare):
        left = _operand(node.left, metrics)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _operand(comparator, metrics)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    raise TypeError(f"not a checked assertion node: {type(node).__name__}")


def _operand(node: ast.AST, metrics: dict[str, float]) -> float:
    if isinstance(node, ast.Name):
        return metrics[node.id]
    if isinstance(node, ast.UnaryOp):
        value = _operand(node.operand, metrics)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Constant) and _is_number(node.value):
        return node.value
    raise TypeError(f"not a checked assertion operand: {type(node).__name__}")
