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


def quote(value: Any) -> str:
    """A value as a JSON scalar: a valid, unambiguous YAML (and Dockerfile LABEL) literal."""
    return json.dumps(value, ensure_ascii=False)


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
        plain = "\n" not in text and yaml.safe_load(text) == text and text == text.strip()
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
