"""The shipped sanitize rules: what may differ between two runs without counting as drift.

Applied, in this order, to every string of both the stored and the new output before they
are compared (as nbval's ``--nbval-sanitize-with`` patterns are). Each rule replaces what it
matches with a fixed placeholder, so ``2026-11-22T14:47:56`` and ``2025-01-02 09:00:00.5``
both read ``<TIMESTAMP>``:

- this run's own folder, and any ``.nb2pipe/runs/<run-id>`` path → ``<RUN-DIR>``
- paths under the temporary folder (``/tmp``, ``$TMPDIR``, macOS's ``/var/folders``) → ``<TMP>``
- run ids → ``<RUN-ID>``; date-times (ISO or ``str(datetime)``) → ``<TIMESTAMP>``;
  epoch seconds → ``<EPOCH>``; UUIDs → ``<UUID>``; 32-digit hex ids (MLflow runs) → ``<HEX-ID>``
- memory addresses (``0x7f3a2b1c0d20``, 8 to 16 hex digits) → ``<ADDRESS>``

A date alone, or a short hex constant such as ``0xff``, is data and stays.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern
    replacement: str

    def apply(self, text: str) -> str:
        return self.pattern.sub(self.replacement, text)


def _rule(name: str, regex: str, replacement: str) -> Rule:
    return Rule(name, re.compile(regex), replacement)


_PATH_END = r"[^\s'\"<>()\[\]{},;]*"
_TMP_ROOTS = ("/tmp", "/var/tmp", "/var/folders", "/private/var/folders", "/private/tmp")

RULES: tuple[Rule, ...] = (
    # A run directory of any nb2pipe workspace, then the run id on its own.
    _rule("run directory", r"[^\s'\"]*\.nb2pipe/runs/\d{8}-\d{6}-[0-9a-f]{6}", "<RUN-DIR>"),
    _rule("run id", r"\b\d{8}-\d{6}-[0-9a-f]{6}\b", "<RUN-ID>"),
    _rule(
        "timestamp",
        r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?",
        "<TIMESTAMP>",
    ),
    _rule("epoch seconds", r"\b1[5-9]\d{8}(?:\.\d+)?\b", "<EPOCH>"),
    _rule(
        "uuid",
        r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
        "<UUID>",
    ),
    _rule("hex id", r"\b[0-9a-f]{32}\b", "<HEX-ID>"),  # MLflow run ids, md5 digests
    _rule("memory address", r"\b0x[0-9a-fA-F]{8,16}\b", "<ADDRESS>"),
)


def _temp_rule() -> Rule:
    roots = sorted({*_TMP_ROOTS, tempfile.gettempdir()}, key=len, reverse=True)
    alternatives = "|".join(re.escape(root.rstrip("/")) for root in roots)
    return _rule("temporary path", f"(?:{alternatives})/{_PATH_END}", "<TMP>")


class Sanitizer:
    """Replaces this run's own folders with ``<RUN-DIR>``, then applies the shipped rules."""

    def __init__(self, run_dirs: Iterable[str | Path] = ()):
        # Absolute paths only: a relative "ws" would also match inside "rows".
        literal = {str(Path(p).absolute()) for p in run_dirs}
        literal |= {str(Path(p).resolve()) for p in run_dirs}
        # Longest first, so a folder inside another is replaced as a whole.
        self.literal = sorted((p for p in literal if p != "/"), key=len, reverse=True)
        self.rules = (*RULES[:1], _temp_rule(), *RULES[1:])

    def __call__(self, text: str) -> str:
        for path in self.literal:
            text = text.replace(path, "<RUN-DIR>")
        for rule in self.rules:
            text = rule.apply(text)
        return text
