"""Small tagged notebooks for the compiler tests, written as plain nbformat-4 JSON."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example_notebooks" / "wine_quality.ipynb"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
KALE = FIXTURES / "kale_dialect.ipynb"
UNTAGGED = FIXTURES / "untagged.ipynb"


def code(source: str, *tags: str, outputs: list | None = None) -> dict:
    """A code cell; `tags` go to metadata.tags."""
    return {
        "cell_type": "code",
        "execution_count": 1 if outputs else None,
        "metadata": {"tags": list(tags)} if tags else {},
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


def notebook(cells: list[dict]) -> dict:
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write_notebook(path: Path, *cells: dict) -> Path:
    """Write `cells` as an nbformat-4 notebook at `path`; return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook(list(cells)), indent=1), encoding="utf-8")
    return path
