"""What an executed step notebook says about its run: which cell failed and how, whether a
`sys.exit` ended it. One reader for every way a step runs (warm kernel, container, cluster).

Cells keep their source-notebook number in `metadata.nb2pipe.cell`, so what is reported is the
cell the user wrote. A cell tagged `raises-exception` may raise: that is not the failure.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .fileio import write_atomic

EXPECTED = "raises-exception"
PAPERMILL_BANNER = "papermill-error-cell-tag"
_LOCATED = re.compile(r"cell (\d+): ")


@dataclass
class Failure:
    cell: int | None
    ename: str | None
    evalue: str | None

    @property
    def message(self) -> str:
        # an error whose text starts on a new line (`raise ValueError("\\n...")`) still says
        # what went wrong on its first line, which is what a one-line view shows
        return f"{self.ename}: {(self.evalue or '').strip()}".strip().rstrip(":")

    def as_error(self) -> dict:
        return {"message": self.message, "cell": self.cell, "ename": self.ename,
                "evalue": self.evalue}  # fmt: skip


def _cells(executed: Path) -> list[dict]:
    try:
        return json.loads(executed.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return []


def _number(cell: dict) -> int | None:
    return (cell.get("metadata", {}).get("nb2pipe") or {}).get("cell")


def failure(executed: Path) -> Failure | None:
    """The first error the author did not expect; its cell, else (an error of the load or save
    cells) the cell its message names (`cell N: …`, as nb2pipe's own checks say)."""
    for cell in _cells(executed):
        if EXPECTED in cell.get("metadata", {}).get("tags", []):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                ename, evalue = output.get("ename"), output.get("evalue") or ""
                number = _number(cell)
                located = _LOCATED.match(evalue)
                if number is None and located:
                    number, evalue = int(located.group(1)), evalue[located.end() :]
                return Failure(number, ename, evalue)
    return None


def last_started(executed: Path) -> int | None:
    """The last cell that started: where a kernel that died (leaving no error) was."""
    started = None
    for cell in _cells(executed):
        if cell.get("execution_count") is not None and _number(cell) is not None:
            started = _number(cell)
    return started


def stopped_at(executed: Path) -> int | None:
    """The cell that ended the notebook with `sys.exit(0)` (papermill: not an error)."""
    for cell in _cells(executed):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") == "SystemExit":
                return _number(cell) or 0
    return None


def drop_error_banner(executed: Path) -> None:
    """papermill marks any error output as a failure and prepends a banner saying so; when
    every error was expected, the banner is wrong."""
    try:
        nb = json.loads(executed.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    from .notebook import dumps

    nb["cells"] = [
        c
        for c in nb.get("cells", [])
        if PAPERMILL_BANNER not in c.get("metadata", {}).get("tags", [])
    ]
    write_atomic(executed, dumps(nb))
