"""The YAML state generated files are written with (templates themselves: nb2pipe.rendering)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


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
