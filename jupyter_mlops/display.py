"""Tables in a notebook: an ipywidgets table, with the same table as plain text for frontends
(nbconvert, papermill, a terminal) that cannot show widgets."""

from __future__ import annotations

import datetime
import html
from collections.abc import Sequence
from typing import Any


def fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def when(seconds: float | None) -> str:
    if not seconds:
        return ""
    return datetime.datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S")


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def html_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = "") -> str:
    head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(fmt(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    title = f"<caption style='text-align:left'>{html.escape(caption)}</caption>" if caption else ""
    return f"<table class='jupyter-mlops'>{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def show_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = "") -> None:
    """Display a table: an ipywidgets widget where widgets render, plain text elsewhere."""
    text = (caption + "\n" if caption else "") + text_table(headers, rows)
    try:
        import ipywidgets
        from IPython.display import display
    except ImportError:
        print(text)
        return
    widget = ipywidgets.HTML(value=html_table(headers, rows, caption))
    bundle = widget._repr_mimebundle_()
    bundle["text/plain"] = text  # what non-widget frontends show instead
    display(bundle, raw=True)
