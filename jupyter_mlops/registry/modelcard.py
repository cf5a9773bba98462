"""The model card: what a model is for, how it was made and from which data, in Markdown.

Rendered from ``templates/model_card.md.j2`` (Jinja2). It becomes the registered version's
description and an artifact of the run that logged the model.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TEMPLATE = "model_card.md.j2"
SLICES_TEMPLATE = "model_card_slices.md.j2"
SLICES_HEADING = "## Slices"
SAMPLE_ROWS = 5
_CELL_WIDTH = 40


@dataclass
class DataSummary:
    """Schema and a few rows of the data a model was trained or evaluated on."""

    rows: int
    columns: list[tuple[str, str]]  # (name, dtype)
    sample_header: list[str] = field(default_factory=list)
    sample: list[list[str]] = field(default_factory=list)
    sha256: str | None = None


@dataclass
class CardContext:
    name: str
    version: str | None = None
    purpose: str = ""
    flavor: str = ""
    model_class: str = ""
    gate_metric: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    data: DataSummary | None = None
    lineage: dict[str, Any] = field(default_factory=dict)
    input_hashes: dict[str, str] = field(default_factory=dict)
    requirements: list[str] = field(default_factory=list)
    published_by: str = ""
    published_at: str = ""


def render(context: CardContext) -> str:
    """The card as Markdown."""
    from nb2pipe.rendering import render_template

    return render_template(TEMPLATE, {"cell": table_cell, "number": _number}, card=context)


def table_cell(value: Any) -> str:
    """A value made safe for one cell of a Markdown table."""
    text = str(value).replace("\n", " ").replace("|", "\\|")
    return text if len(text) <= _CELL_WIDTH else text[: _CELL_WIDTH - 1] + "…"


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def purpose_from_notebook(path: str | os.PathLike | None) -> str:
    """The notebook's first markdown cell: by convention, what the notebook is for."""
    if not path:
        return ""
    try:
        notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "markdown":
            source = cell.get("source", "")
            return ("".join(source) if isinstance(source, list) else source).strip()
    return ""


def _lower_headings(text: str) -> str:
    """Nest the notebook's headings under the card's own sections."""
    out = []
    for line in text.splitlines():
        out.append("##" + line if line.startswith("#") else line)
    return "\n".join(out)


def purpose(text: str) -> str:
    return _lower_headings(text.strip())


def summarize_data(data: Any, rows: int = SAMPLE_ROWS) -> DataSummary | None:
    """Schema, row count, content hash and the first rows of a pandas DataFrame (or Series)."""
    pd = _pandas_if_loaded()
    if pd is None:
        return None
    if isinstance(data, pd.Series):
        data = data.to_frame()
    if not isinstance(data, pd.DataFrame):
        return None
    head = data.head(rows)
    return DataSummary(
        rows=len(data),
        columns=[(str(c), str(t)) for c, t in data.dtypes.items()],
        sample_header=[str(c) for c in head.columns],
        sample=[[_number(v) for v in row] for row in head.itertuples(index=False, name=None)],
        sha256=frame_sha256(data),
    )


def frame_sha256(frame: Any) -> str:
    """A content hash of a DataFrame: its values, index and column names."""
    import pandas as pd

    digest = hashlib.sha256()
    digest.update(json.dumps([str(c) for c in frame.columns]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=True).values.tobytes())
    return digest.hexdigest()


def _pandas_if_loaded():
    import sys

    return sys.modules.get("pandas")


CHECKS_HEADING = "## Deployment checks"


def table_cell_long(value: Any) -> str:
    """A value made safe for one cell of a Markdown table, kept whole."""
    return str(value).replace("\n", " ").replace("|", "\\|")


def with_checks(card: str, checks: list[tuple[str, bool, str]], *, where: str, when: str) -> str:
    """`card` with its deployment-checks section replaced by these results (added at the end
    the first time): the card says how the version fared where it was last checked."""
    lines = [
        CHECKS_HEADING,
        "",
        f"{'Passed' if all(ok for _, ok, _ in checks) else 'Failed'} on {when}, {where}.",
        "",
        "| check | result | detail |",
        "|---|---|---|",
        *(
            f"| {name} | {'ok' if ok else '**failed**'} | {table_cell_long(detail)} |"
            for name, ok, detail in checks
        ),
    ]
    section = "\n".join(lines) + "\n"
    start = card.find(CHECKS_HEADING)
    if start < 0:
        return card.rstrip("\n") + "\n\n" + section
    end = card.find("\n## ", start + len(CHECKS_HEADING))
    rest = card[end + 1 :] if end >= 0 else ""
    return card[:start] + section + ("\n" + rest if rest else "")


def with_slices(card: str, decision: Any, threshold: float) -> str:
    """`card` with its "Slices" section (the gate's table per slice) added or replaced."""
    from nb2pipe.rendering import render_template

    section = render_template(
        SLICES_TEMPLATE, {"cell": table_cell, "number": _number}, gate=decision, threshold=threshold
    ).strip()
    before, found, after = card.partition(SLICES_HEADING)
    if found:  # replace the section up to the next one
        rest = after.split("\n## ", 1)
        after = "\n\n## " + rest[1] if len(rest) > 1 else ""
        return before.rstrip() + "\n\n" + section + after
    return card.rstrip() + "\n\n" + section + "\n"
