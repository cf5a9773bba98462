"""The Jinja templates of generated files (`templates/` in the source tree, or in the wheel),
and the YAML state generated files are written with."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def template_dirs() -> list[Path]:
    """`templates/` beside the package (installed wheel) or at the repository root (source)."""
    package = Path(__file__).resolve().parents[1]
    dirs = [package / "templates", package.parents[1] / "templates"]
    return [d for d in dirs if d.is_dir()]


def quote(value: Any) -> str:
    """A value as a JSON scalar: a valid, unambiguous YAML (and Dockerfile LABEL) literal."""
    return json.dumps(value, ensure_ascii=False)


def render_template(template: str, **context: Any) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs()]),
        autoescape=False,  # YAML and Dockerfiles, not HTML
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["q"] = quote
    return env.get_template(template).render(**context)


@contextmanager
def default_yaml_representers() -> Iterator[None]:
    """PyYAML's own `str` representer for the duration, and its previous state afterwards.

    Importing Hera replaces PyYAML's `str` representers process-wide (it quotes ``n`` and
    writes multi-line strings as blocks), which changed the bytes the kfp SDK writes depending
    on whether Hera had been imported. Generated files must not depend on that: the kfp
    compile runs with PyYAML's defaults, and Hera is imported inside this block so that its
    patch is undone when it ends.
    """
    import yaml.representer

    classes = [yaml.representer.BaseRepresenter]
    for cls in classes:  # grows while iterating: every subclass, dumpers included
        classes.extend(c for c in cls.__subclasses__() if c not in classes)
    saved = {cls: cls.__dict__.get("yaml_representers") for cls in classes}
    saved = {cls: dict(table) if table is not None else None for cls, table in saved.items()}
    default = yaml.representer.SafeRepresenter.represent_str
    try:
        for cls, table in saved.items():
            if table is not None and str in table:
                cls.yaml_representers[str] = default
        yield
    finally:
        for cls, table in saved.items():
            if table is None:
                if "yaml_representers" in cls.__dict__:
                    delattr(cls, "yaml_representers")
            else:
                cls.yaml_representers = table
