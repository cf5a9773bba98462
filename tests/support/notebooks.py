"""Cell and notebook builders shared by every test folder: plain nbformat-4 JSON, no nbformat.

Importable as `notebooks` from any test module (tests/conftest.py puts tests/ on sys.path).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "example_notebooks"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def code(source: str, *tags: str, outputs: list | None = None, meta: dict | None = None) -> dict:
    """A code cell; `tags` go to metadata.tags (no `tags` key without them), `meta` is merged
    into the metadata; with `outputs` it looks run and saved (an execution count is set)."""
    metadata: dict[str, Any] = {"tags": list(tags)} if tags else {}
    metadata.update(meta or {})
    return {
        "cell_type": "code",
        "execution_count": 1 if outputs else None,
        "metadata": metadata,
        "outputs": outputs or [],
        "source": source,
    }


def markdown(source: str, *tags: str) -> dict:
    return {
        "cell_type": "markdown",
        "metadata": {"tags": list(tags)} if tags else {},
        "source": source,
    }


def raw(source: str) -> dict:
    return {"cell_type": "raw", "metadata": {}, "source": source}


def notebook(cells: list[dict], *, nb2pipe: dict | None = None) -> dict:
    """An nbformat-4.5 document (kernel python3); `nb2pipe` goes to metadata.nb2pipe."""
    metadata: dict[str, Any] = {"kernelspec": dict(KERNELSPEC)}
    if nb2pipe is not None:
        metadata["nb2pipe"] = nb2pipe
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


def write_notebook(path: Path, *cells: dict, nb2pipe: dict | None = None) -> Path:
    """Write `cells` as an nbformat-4 notebook (kernel python3) at `path`; return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = notebook(list(cells), nb2pipe=nb2pipe)
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path
