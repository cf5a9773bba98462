"""Rendering the Jinja templates of generated files: one environment, one template search path.

Templates live in `templates/` at the repository root and, in an installed wheel, in
`nb2pipe/templates/` (pyproject's force-include). Generated files (Dockerfiles, workflows,
model cards) must be deterministic and are never HTML, so: no autoescaping, strict undefined
names, stable whitespace.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from .errors import Nb2PipeError


def template_dirs() -> list[Path]:
    """`templates/` inside the installed package, or at the repository root (source tree)."""
    package = Path(__file__).resolve().parent
    dirs = [package / "templates", package.parents[1] / "templates"]
    return [d for d in dirs if d.is_dir()]


def quote(value: Any) -> str:
    """A value as a JSON scalar: a valid, unambiguous YAML (and Dockerfile LABEL) literal."""
    return json.dumps(value, ensure_ascii=False)


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
    env.globals["gh"] = github_expression
    return env


def render_template(name: str, /, filters: dict | None = None, **context: Any) -> str:
    """Render template `name` (a path below templates/) with `context`."""
    env = environment()
    if filters:
        env = env.overlay()
        env.filters.update(filters)
    return env.get_template(name).render(**context)
