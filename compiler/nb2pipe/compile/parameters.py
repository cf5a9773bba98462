"""The parameters cell: literal assignments read with `ast`, so values keep their types."""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass
from typing import Any

from ..errors import ParameterError

TYPES = {
    bool: "bool",
    int: "int",
    float: "float",
    complex: "complex",
    str: "str",
    bytes: "bytes",
    list: "list",
    dict: "dict",
    tuple: "tuple",
    set: "set",
    type(None): "None",
}


@dataclass
class Param:
    """One pipeline parameter: its name, literal value, type and the comment that explains it."""

    name: str
    value: Any
    type: str
    comment: str = ""
    annotation: str = ""

    def source(self) -> str:
        """The assignment as it appears in a step notebook's parameters cell."""
        target = f"{self.name}: {self.annotation}" if self.annotation else self.name
        line = f"{target} = {self.value!r}"
        return f"{line}  # {self.comment}" if self.comment else line


def parse_parameters(source: str, cell: int | None = None) -> list[Param]:
    """Parse a `parameters` cell; anything but `name = <literal>` is a `ParameterError`."""
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        raise ParameterError(
            f"parameters cell is not valid Python (line {e.lineno}: {e.msg})", cell=cell
        ) from None
    comments = _comments_by_line(source)
    params: dict[str, Param] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, annotation = node.targets[0], ""
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, annotation = node.target, ast.unparse(node.annotation)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring-like note
        else:
            raise ParameterError(
                f"line {node.lineno}: only assignments of literal values belong in the "
                f"parameters cell, not `{_short(ast.unparse(node))}`",
                cell=cell,
            )
        if not isinstance(target, ast.Name):
            raise ParameterError(
                f"line {node.lineno}: assign one plain name per line, not "
                f"`{_short(ast.unparse(target))}`",
                cell=cell,
            )
        try:
            value = ast.literal_eval(node.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise ParameterError(
                f"parameter {target.id!r} is not a constant expression: "
                f"`{_short(ast.unparse(node.value))}` (parameters must be literals so papermill "
                "can inject them)",
                cell=cell,
            ) from None
        # The trailing comment, else a comment on the line of its own just above.
        trailing, above = comments.get(node.end_lineno), comments.get(node.lineno - 1)
        comment = trailing[0] if trailing else (above[0] if above and above[1] else "")
        params[target.id] = Param(
            target.id, value, TYPES.get(type(value), type(value).__name__), comment, annotation
        )
    return list(params.values())


def _comments_by_line(source: str) -> dict[int, tuple[str, bool]]:
    """line -> (comment text, alone on its line), from the tokenizer (so `"#"` is no comment)."""
    out: dict[int, tuple[str, bool]] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                alone = not tok.line[: tok.start[1]].strip()
                out[tok.start[0]] = (tok.string.lstrip("#").strip(), alone)
    except (tokenize.TokenError, SyntaxError):
        pass
    return out


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _a(type_name: str) -> str:
    return f"an {type_name}" if type_name[0] in "aeiou" else f"a {type_name}"


_TRUE = frozenset({"True", "true", "TRUE", "1", "yes", "on"})
_FALSE = frozenset({"False", "false", "FALSE", "0", "no", "off"})


def coerce(param: Param, raw: str) -> Any:
    """Turn a command-line string (`-p name value`) into a value of the parameter's type.

    As papermill's `-p`: `None` sets None whatever the type, and a parameter whose default is
    None takes any value, typed as papermill would (True/False, int, float, a literal, else the
    text). `-r NAME VALUE` (`raw=True`) passes the text itself to a string parameter.
    """
    if raw == "None":
        return None
    if param.type == "str":
        return raw
    if param.type == "None":
        return _untyped(raw)
    if param.type == "bool":
        if raw in _TRUE or raw in _FALSE:
            return raw in _TRUE
        raise ParameterError(
            f"parameter {param.name!r} expects a bool (true/false, True/False, 1/0), got {raw!r}"
        )
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise ParameterError(
            f"parameter {param.name!r} expects {_a(param.type)}, got {raw!r}"
        ) from None
    if param.type == "float" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    actual = TYPES.get(type(value), type(value).__name__)
    if actual != param.type:
        raise ParameterError(f"parameter {param.name!r} expects {_a(param.type)}, got {raw!r}")
    return value


def _untyped(raw: str) -> Any:
    """papermill's typing of a `-p` value: booleans, numbers and literals, else the text."""
    if raw in ("True", "true"):
        return True
    if raw in ("False", "false"):
        return False
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    if raw[:1] in "[{(\"'":
        try:
            return ast.literal_eval(raw)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            pass
    return raw


def suggestion(name: str, known) -> str:
    """What to say after an unknown parameter name: the closest known one, else the list."""
    import difflib

    known = list(known)
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"parameters: {', '.join(known)}" if known else "the notebook has no parameters"


def from_command_line(params: list[Param], pairs, raw_pairs=()) -> dict[str, Any]:
    """`-p NAME VALUE` pairs as typed values, `-r NAME VALUE` pairs as text (`typed_values`)."""
    given = {name: text for name, text in pairs}
    raw = {name for name, _ in raw_pairs}
    given.update({name: text for name, text in raw_pairs})
    return typed_values(params, given, raw=raw, flags=True)


def typed_values(
    params: list[Param], given: dict[str, Any], *, raw=(), text: bool = True, flags: bool = False
) -> dict[str, Any]:
    """The values `given` for the notebook's parameters, typed as its parameters cell declares.

    The one reading of every door's values: `nb2pipe run -p`/`-r`, the sidebar's request,
    `%mlops run -p NAME=VALUE`, a test profile, a run's own run.json. Text is read as a literal
    of the declared type (`coerce`: never evaluated), except for the names in `raw`, which keep
    their text; any other value (JSON, and strings too when `text` is False) must have the
    declared type, a list standing for a declared tuple or set. An unknown name or a value of
    another type is one `ParameterError` (`flags`: named as the command line's ``-p NAME``).
    """
    known = {p.name: p for p in params}
    values = {}
    for name, value in given.items():
        param = known.get(name)
        if param is None:
            where = f"{'-r' if name in raw else '-p'} {name}: " if flags else ""
            label = "unknown parameter" if flags else f"unknown parameter {name!r}"
            raise ParameterError(f"{where}{label} ({suggestion(name, known)})")
        if isinstance(value, str) and text:
            values[name] = value if name in raw else coerce(param, value)
        else:
            values[name] = _of_declared_type(param, value)
    return values


def _of_declared_type(param: Param, value: Any) -> Any:
    if param.type in ("tuple", "set") and isinstance(value, list):
        value = tuple(value) if param.type == "tuple" else set(value)
    if value is None or param.type == "None":
        return value
    if param.type == "float" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if TYPES.get(type(value), type(value).__name__) != param.type:
        raise ParameterError(
            f"parameter {param.name!r} expects {_a(param.type)}, got {value!r:.60}"
        )
    return value
