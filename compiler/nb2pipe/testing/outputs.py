"""Comparing a cell's new outputs with those stored in the source notebook, as nbval does.

Which cells are compared follows nbval's markers, as tags or as comments in the cell:

- lax mode (the default, nbval's ``--nbval-lax``): only cells tagged ``nbval-check-output``
  (or holding a ``# NBVAL_CHECK_OUTPUT`` comment);
- strict mode (``--strict``, nbval's ``--nbval``): every code cell whose outputs the source
  notebook stores, except cells tagged ``nbval-ignore-output`` or ``nbval-skip`` (or the
  matching ``# NBVAL_IGNORE_OUTPUT`` / ``# NBVAL_SKIP`` comments).

How two output lists are compared is nbval's too: streams of one name are joined (``\\r`` and
``\\b`` applied), outputs are grouped by field (``stdout``, ``text/plain``, ``text/html``…) so
that the order of unrelated outputs does not matter, and metadata, execution counts,
tracebacks, widget ids and PNG/JPEG images are not compared. Strings pass through the sanitize
rules first (see sanitize.py). The result is one line, for a summary and a JUnit message.

nbval itself is a pytest plugin whose comparison lives in a test item; these few functions
keep its semantics without importing pytest into the CLI (tests/testing check they agree).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from typing import Any

CHECK_TAG = "nbval-check-output"
IGNORE_TAGS = ("nbval-ignore-output", "nbval-skip")
CHECK_COMMENT = "NBVAL_CHECK_OUTPUT"
IGNORE_COMMENTS = ("NBVAL_IGNORE_OUTPUT", "PYTEST_VALIDATE_IGNORE_OUTPUT", "NBVAL_SKIP")

# nbval's skip_compare (without --nbdime, images are not compared either).
SKIP_FIELDS = frozenset(
    {
        "metadata",
        "traceback",
        "prompt_number",
        "output_type",
        "name",
        "execution_count",
        "transient",
        "application/vnd.jupyter.widget-view+json",
        "image/png",
        "image/jpeg",
    }
)


def _comments(source: str) -> set[str]:
    return {
        line.strip().lstrip("#").strip() for line in source.splitlines() if line.strip()[:1] == "#"
    }


def should_check(cell: dict, strict: bool) -> bool:
    """Whether this source cell's outputs are compared, by nbval's markers and the mode."""
    tags = (cell.get("metadata") or {}).get("tags") or []
    comments = _comments(text(cell.get("source", "")))
    if CHECK_COMMENT in comments:
        return True
    if comments.intersection(IGNORE_COMMENTS):
        return False
    if CHECK_TAG in tags:
        return True
    if any(tag in tags for tag in IGNORE_TAGS):
        return False
    return strict


def has_stored_outputs(cell: dict) -> bool:
    """A cell that was run and saved (nbstripout's ``keep_output`` keeps outputs, not counts)."""
    return cell.get("execution_count") is not None or bool(cell.get("outputs"))


def text(value: Any) -> Any:
    """nbformat stores multi-line strings as lists of lines; compare them as one string."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return value


_CARRIAGE_RETURN = re.compile(r"^.*\r(?=[^\n])", re.MULTILINE)
_BACKSPACE = re.compile("[^\n]\x08")  # a character erased by a backspace


def coalesce_streams(outputs: list[dict]) -> list[dict]:
    """One output per stream name, with its text joined and ``\\r``/``\\b`` applied (nbval)."""
    merged: list[dict] = []
    streams: dict[str, dict] = {}
    for output in outputs:
        if output.get("output_type") == "stream":
            name = output.get("name", "stdout")
            if name in streams:
                streams[name]["text"] += text(output.get("text", ""))
                continue
            output = {**output, "text": text(output.get("text", ""))}
            streams[name] = output
        merged.append(output)
    for output in streams.values():
        previous = None
        while previous != output["text"]:
            previous = output["text"]
            output["text"] = _BACKSPACE.sub("", output["text"])
        output["text"] = _CARRIAGE_RETURN.sub("", output["text"])
    return merged


def flatten(outputs: list[dict], sanitize: Callable[[str], str]) -> dict[str, list]:
    """Outputs grouped by field, each value sanitized: nbval's form for comparing."""
    fields: dict[str, list] = defaultdict(list)
    for output in coalesce_streams(outputs):
        if output.get("output_type") == "stream":
            output = {output.get("name", "stdout"): output["text"]}
        for key, value in output.items():
            if key in SKIP_FIELDS:
                continue
            if key == "data":
                for mime, data in value.items():
                    if mime not in SKIP_FIELDS:
                        fields[mime].append(_clean(text(data), sanitize))
            else:
                fields[key].append(_clean(text(value), sanitize))
    return dict(fields)


def _clean(value: Any, sanitize: Callable[[str], str]) -> Any:
    return sanitize(value) if isinstance(value, str) else value


def compare(
    stored: list[dict], new: list[dict], sanitize: Callable[[str], str] = lambda s: s
) -> str | None:
    """None when the outputs agree; otherwise what differs first, in one line."""
    expected, got = flatten(stored, sanitize), flatten(new, sanitize)
    missing = sorted(set(expected) - set(got))
    if missing:
        return f"missing output {', '.join(missing)}: expected {_quote(expected[missing[0]][0])}"
    extra = sorted(set(got) - set(expected))
    if extra:
        return f"unexpected output {', '.join(extra)}: {_quote(got[extra[0]][0])}"
    for key in sorted(expected):
        if len(expected[key]) != len(got[key]):
            return f"{key}: {len(got[key])} outputs, expected {len(expected[key])}"
        for want, have in zip(expected[key], got[key], strict=True):
            if want != have:
                return _difference(key, want, have)
    return None


def _difference(key: str, want: Any, have: Any) -> str:
    """`key: expected …, got …`, quoting the first line that differs in multi-line text."""
    if isinstance(want, str) and isinstance(have, str):
        mine, theirs = want.splitlines() or [""], have.splitlines() or [""]
        for i in range(max(len(mine), len(theirs))):
            a = mine[i] if i < len(mine) else None
            b = theirs[i] if i < len(theirs) else None
            if a != b:
                where = f" line {i + 1}" if len(mine) > 1 or len(theirs) > 1 else ""
                return f"{key}{where}: expected {_quote(a)}, got {_quote(b)}"
    return f"{key}: expected {_quote(want)}, got {_quote(have)}"


def _quote(value: Any, width: int = 60) -> str:
    shown = "nothing" if value is None else repr(value)
    return shown if len(shown) <= width else shown[: width - 1] + "…"
