"""The Python a Jupyter kernel runs for a cell's source.

IPython's own input transformer turns `%magic`, `%%cell` and `!shell` lines into calls; on top
of it, the magics whose argument is Python (`%time`, `%timeit`, `%%capture`…) are unwrapped so
that what that Python reads and binds is seen, and a cell of one line that names a line magic
runs it, as automagic does in the kernel. Plain Python skips the transformer (and its ~0.2 s
import).
"""

from __future__ import annotations

import ast
import builtins
import functools
import keyword
import re

from ..errors import CodeError

# `ast.parse` needs ~500 bytes of memory per character of source: a 2 MB cell takes 1 GB, and
# a 50 MB one exhausts the machine. Cells above this size are refused, not analysed.
MAX_CELL_CHARS = 400_000

# Magics whose argument is Python run in the user namespace: analyse that code, else the
# names it reads and assigns would be invisible behind `run_line_magic('time', 'x = f()')`.
# `%time`, `%prun` and `%%capture` run it in the notebook's namespace (it binds names there);
# `%timeit` runs it inside a function of its own, so what it assigns stays there.
_BINDING_CELL_MAGICS = ("%%time", "%%prun", "%%capture")
_BINDING_LINE_MAGICS = ("%time", "%prun")
_TIMEIT_OPTIONS_WITH_VALUE = frozenset("nrp")  # -n N, -r R, -p P; -t -c -q -o take none
TIMEIT_FUNCTION = "_nb2pipe_timeit"


def _timeit_parts(arguments: str) -> str:
    """The Python after `%timeit`'s or `%%timeit`'s options (`-n1 -r 3 -q stmt` → `stmt`)."""
    words = arguments.split(" ")
    while words and (not words[0] or words[0].startswith("-")):
        word = words.pop(0)
        if len(word) == 2 and word[1] in _TIMEIT_OPTIONS_WITH_VALUE and words:
            words.pop(0)  # `-n 100`: the value is the next word
    return " ".join(words)


def _unwrap_timing_magics(source: str) -> str:
    lines = source.splitlines()
    head = lines[0].split(" ")[0] if lines else ""
    if head == "%%timeit":
        setup = _timeit_parts(lines[0][len(head) :].strip())
        body = [setup, *lines[1:]] if setup else lines[1:]
        lines = [f"def {TIMEIT_FUNCTION}():", *(f"    {line}" for line in body or ["pass"])]
    elif head in _BINDING_CELL_MAGICS:
        magic, *args = lines[0].split()
        lines = lines[1:]
        names = [a for a in args if not a.startswith("-")]
        if magic == "%%capture" and names and names[0].isidentifier():
            lines.append(f"{names[0]} = None")  # %%capture NAME assigns NAME
    out = []
    for line in lines:
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        magic, _, rest = stripped.partition(" ")
        if magic == "%timeit":
            # One line, so line numbers hold: a function that is never called still has its
            # free names read (resolved like a helper's), and binds nothing outside itself.
            statement = _timeit_parts(rest.strip()) or "pass"
            line = f"{indent}def {TIMEIT_FUNCTION}(): {statement}"
        elif magic in _BINDING_LINE_MAGICS:
            line = indent + (rest.strip() if not rest.lstrip().startswith("-") else "pass")
        out.append(line)
    return "\n".join(out)


@functools.cache
def _automagic_names() -> frozenset[str]:
    """IPython's line magics and shell aliases, which a cell of one line may call without
    `%` (automagic, on by default): `ls data`, `pwd`, `cd ..`."""
    try:
        from IPython.core.alias import default_aliases
        from IPython.core.magics._table import BUILTIN_LAZY_MAGICS
    except ImportError:  # another IPython: no automagic known, the cell is read as Python
        return frozenset()
    names = set(BUILTIN_LAZY_MAGICS.get("line", {})) | {name for name, _ in default_aliases()}
    return frozenset(names - set(dir(builtins)) - set(keyword.kwlist))


def _automagic(source: str, bound: frozenset[str] | set[str]) -> str | None:
    """The magic call a one-line cell means under automagic, as IPython's prefilter decides:
    a first word naming a line magic, not a name the code has bound, not followed by an
    assignment or an operator."""
    if "\n" in source.strip():
        return None
    match = re.fullmatch(r"\s*([A-Za-z_]\w*)(?:\s+(.*?))?\s*", source)
    if match is None:
        return None
    word, rest = match.group(1), match.group(2) or ""
    if word in bound or rest[:1] in tuple("!=()<>,+*/%^&|") or word not in _automagic_names():
        return None
    return f"get_ipython().run_line_magic({word!r}, {rest!r})"


def to_python(
    source: str, cell: int | None = None, bound: frozenset[str] | set[str] = frozenset()
) -> str:
    """The Python the kernel runs for this cell's source (IPython syntax transformed).

    `bound`: names the notebook has bound by then, which automagic does not shadow."""
    if len(source) > MAX_CELL_CHARS:
        raise CodeError(
            f"the cell is too large to analyse ({len(source):,} characters; the limit is "
            f"{MAX_CELL_CHARS:,}): keep data in a file and read it in the cell",
            cell=cell,
        )
    if "%time" in source or "%prun" in source or "%%capture" in source:
        source = _unwrap_timing_magics(source)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        tree = None
    if tree is not None:
        bare = len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr)
        if not (bare and isinstance(tree.body[0].value, ast.Name)):
            return source
        return _automagic(source, bound) or source  # `ls` alone: a magic, unless bound
    from IPython.core.inputtransformer2 import TransformerManager

    code = TransformerManager().transform_cell(source)
    if len(code.splitlines()) == 1:  # IPython applies automagic to a cell of one line only
        try:
            ast.parse(code)
        except SyntaxError:
            return _automagic(code, bound) or code
    return code


def parse(
    source: str, cell: int | None = None, bound: frozenset[str] | set[str] = frozenset()
) -> ast.Module:
    code = to_python(source, cell, bound)
    try:
        return ast.parse(code)
    except SyntaxError as e:
        raise CodeError(f"line {e.lineno}: {e.msg}", cell=cell) from None
    except (MemoryError, RecursionError):
        raise CodeError("the cell is too deeply nested to analyse", cell=cell) from None
