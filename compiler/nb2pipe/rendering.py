"""Rendering the Jinja templates of generated files: one environment, one template search path.

Templates live in `templates/` at the repository root and, in an installed wheel, in
`nb2pipe/templates/` (pyproject's force-include). Generated files (Dockerfiles, workflows,
model cards) must be deterministic and are never HTML, so: no autoescaping, strict undefined
names, stable whitespace.
"""

from __future__ import annotations

import functools
import json
import re
import shlex
from pathlib import Path
from typing import Any

from .errors import Nb2PipeError

_NUMBER_LIKE = re.compile(r"[-+]?[0-9.][0-9a-zA-Z_.:+-]*")


def template_dirs() -> list[Path]:
    """`templates/` inside the installed package, or at the repository root (source tree)."""
    package = Path(__file__).resolve().parent
    dirs = [package / "templates", package.parents[1] / "templates"]
    return [d for d in dirs if d.is_dir()]


# Characters a YAML reader does not take as they are: line breaks (YAML 1.1 counts NEL and the
# Unicode line and paragraph separators too) and what it calls non-printable. Written raw,
# they end a comment or fold a quoted value into another; escaped, they read back unchanged.
_NOT_AS_IS = re.compile(
    "[^\t\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)


_SHORT = {"\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match) -> str:
    if match.group() in _SHORT:
        return _SHORT[match.group()]
    code = ord(match.group())
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def one_line(text: str) -> str:
    """`text` with every character that is not plain printable text on one line (line
    breaks, control characters, NEL, U+2028/9, a BOM) written as its escape: safe in a YAML
    comment or plain scalar, where a raw line break would start a key of its own."""
    return _NOT_AS_IS.sub(_escape, text)


def quote(value: Any) -> str:
    """A value as a JSON scalar: a valid, unambiguous YAML (and Dockerfile LABEL) literal.

    JSON escapes the C0 controls only; the other characters YAML reads as line breaks or
    refuses (see `one_line`) are escaped too (``\\uXXXX`` means the same in both)."""
    return one_line(json.dumps(value, ensure_ascii=False))


def shell(words: Any) -> str:
    """A command line for a POSIX shell: each word quoted so that it stays one argument.

    `words` is a list of arguments, or one argument. Words made of safe characters only
    (``notebooks/train.ipynb``) are left as they are, so a workflow stays readable.
    """
    if isinstance(words, (list, tuple)):
        return " ".join(shlex.quote(str(w)) for w in words)
    return shlex.quote(str(words))


def yaml_scalar(value: Any) -> str:
    """`value` as a YAML scalar in block context: plain when YAML reads it back unchanged,
    else double-quoted (JSON's escapes are YAML's)."""
    import yaml

    text = str(value)
    try:
        plain = one_line(text) == text and yaml.safe_load(text) == text and text == text.strip()
    except yaml.YAMLError:
        plain = False
    # YAML 1.2 (GitHub's parser) reads some number forms that PyYAML's 1.1 reads as text.
    plain = plain and not _NUMBER_LIKE.fullmatch(text)
    return text if plain and text else quote(text)


def github_expression(expression: str) -> str:
    """GitHub Actions' own `${{ … }}`, written without fighting Jinja's delimiters."""
    return "${{ " + expression + " }}"


@functools.cache
def environment():
    import jinja2

    dirs = template_dirs()
    if not dirs:
        raise Nb2PipeError("the templates are missing from this installation of nb2pipe")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
        autoescape=False,  # YAML, Dockerfiles and Markdown, not HTML
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["q"] = quote
    env.filters["sh"] = shell
    env.filters["yaml"] = yaml_scalar
    env.filters["regex"] = re.escape
    env.globals["gh"] = github_expression
    return env


def render_template(name: str, /, filters: dict | None = None, **context: Any) -> str:
    """Render template `name` (a path below templates/) with `context`."""
    env = environment()
    if filters:
        env = env.overlay()
        env.filters.update(filters)
    return env.get_template(name).render(**context)
