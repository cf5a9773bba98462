"""Reading source notebooks and writing step notebooks as plain JSON.

nbformat's validator costs ~2.5 s of import (jsonschema builds an RFC 3987 grammar), so the
compile path reads and writes the nbformat-4 JSON itself. The output is what ``nbformat.write`` produces (sorted keys,
one-space indent), so Jupyter and papermill open it unchanged and it diffs cleanly.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import NotebookError


@dataclass(frozen=True)
class SourceCell:
    """One cell of the source notebook; `number` counts cells from 1, as a person does."""

    number: int
    kind: str  # code | markdown | raw
    source: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class SourceNotebook:
    path: Path
    cells: tuple[SourceCell, ...]
    kernel: str
    language: str


def read_notebook(path: str | os.PathLike) -> SourceNotebook:
    """Parse an .ipynb file; raise `NotebookError` with one clear line if it is not one."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotebookError("no such file", file=str(path)) from None
    except IsADirectoryError:
        raise NotebookError("is a directory, not a notebook", file=str(path)) from None
    except UnicodeDecodeError:
        raise NotebookError("not a notebook (not UTF-8 text)", file=str(path)) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise NotebookError(
            f"not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})", file=str(path)
        ) from None
    return parse_notebook(data, path)


def parse_notebook(data, path: str | os.PathLike) -> SourceNotebook:
    """A notebook from its parsed JSON (e.g. the unsaved content an editor sends)."""
    path = Path(path)
    major = data.get("nbformat") if isinstance(data, dict) else None
    if isinstance(major, int) and major != 4:
        raise NotebookError(
            f"nbformat {major} is not supported; open and save it in Jupyter 4+ to upgrade",
            file=str(path),
        )
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookError("not a Jupyter notebook (no 'cells' list)", file=str(path))
    cells = []
    for number, cell in enumerate(data["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise NotebookError(
                "malformed cell (no valid 'cell_type')", file=str(path), cell=number
            )
        metadata = cell.get("metadata") or {}
        tags = metadata.get("tags") or [] if isinstance(metadata, dict) else None
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise NotebookError("cell tags must be a list of strings", file=str(path), cell=number)
        source = cell.get("source", "")
        if not isinstance(source, str) and not (
            isinstance(source, list) and all(isinstance(line, str) for line in source)
        ):
            raise NotebookError(
                "malformed cell: its source must be text or a list of text lines",
                file=str(path),
                cell=number,
            )
        cells.append(SourceCell(number, cell["cell_type"], _text(source), tuple(tags)))
    meta = data.get("metadata") or {}
    kernelspec = meta.get("kernelspec") or {}
    return SourceNotebook(
        path=path,
        cells=tuple(cells),
        kernel=kernelspec.get("name") or "python3",
        language=kernelspec.get("language")
        or (meta.get("language_info") or {}).get("name")
        or "python",
    )


def _text(source: str | list[str]) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


def _lines(text: str) -> list[str]:
    """nbformat's on-disk form of a multi-line string: a list of lines keeping their newlines."""
    return text.splitlines(keepends=True)


def code_cell(cell_id: str, source: str, tags=(), **nb2pipe_meta) -> dict:
    metadata: dict = {}
    if tags:
        metadata["tags"] = list(tags)
    if nb2pipe_meta:
        metadata["nb2pipe"] = nb2pipe_meta
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": cell_id,
        "metadata": metadata,
        "outputs": [],
        "source": _lines(source),
    }


def markdown_cell(cell_id: str, source: str, **nb2pipe_meta) -> dict:
    metadata = {"nb2pipe": nb2pipe_meta} if nb2pipe_meta else {}
    return {"cell_type": "markdown", "id": cell_id, "metadata": metadata, "source": _lines(source)}


def new_notebook(cells: list[dict], kernel: str, language: str) -> dict:
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": kernel, "language": language, "name": kernel},
            "language_info": {"name": language},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def dumps(notebook: dict) -> str:
    """Serialize exactly as nbformat does, so the bytes are stable."""
    return json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
