"""What a notebook declares for its tests, read from its metadata (tags stay the compiler's).

```json
"metadata": {
  "nb2pipe": {
    "profiles": {"ci": {"n_rows": 200, "epochs": 1}},
    "assertions": ["accuracy >= 0.8", "f1_macro > 0.5"]
  }
}
```

- ``profiles.NAME`` is a set of parameter values (JSON) for `nb2pipe test --profile NAME`; the
  ``ci`` profile, when declared, is used unless another is named. ``-p`` values win over it.
- ``assertions`` are checked on the metrics once the pipeline ran (see assertions.py). A code
  cell — usually the ``metrics`` cell — may carry its own list in its metadata
  (``cell.metadata.nb2pipe.assertions``), reported with that cell's number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Nb2PipeError
from .assertions import MetricAssertion, parse_assertion

DEFAULT_PROFILE = "ci"


@dataclass
class TestSpec:
    """A source notebook's test declarations and its code cells (numbered from 1)."""

    __test__ = False  # not a pytest test class, whatever imports it

    path: Path
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    assertions: list[MetricAssertion] = field(default_factory=list)
    cells: dict[int, dict] = field(default_factory=dict)  # code cells by number


def read_spec(path: Path) -> TestSpec:
    """Read the declarations; raise `Nb2PipeError` (bad input) for malformed ones."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    ours = (data.get("metadata") or {}).get("nb2pipe") or {}
    where = str(path)
    if not isinstance(ours, dict):
        raise Nb2PipeError("metadata.nb2pipe must be an object", file=where)
    profiles = ours.get("profiles") or {}
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise Nb2PipeError(
            'metadata.nb2pipe.profiles must map a name to parameter values, e.g. {"ci": {"n": 10}}',
            file=where,
        )
    spec = TestSpec(Path(path), profiles=profiles)
    spec.assertions += _assertions(ours.get("assertions"), where, None)
    for number, cell in enumerate(data.get("cells", []), start=1):
        if cell.get("cell_type") != "code":
            continue
        spec.cells[number] = cell
        cell_ours = (cell.get("metadata") or {}).get("nb2pipe") or {}
        if isinstance(cell_ours, dict) and "assertions" in cell_ours:
            spec.assertions += _assertions(cell_ours["assertions"], where, number)
    return spec


def _assertions(items: Any, where: str, cell: int | None) -> list[MetricAssertion]:
    if items is None:
        return []
    if isinstance(items, str) or not isinstance(items, list):
        raise Nb2PipeError(
            'assertions must be a list of strings, e.g. ["accuracy >= 0.8"]', file=where, cell=cell
        )
    out = []
    for text in items:
        try:
            out.append(parse_assertion(text, cell=cell))
        except Nb2PipeError as e:
            e.file, e.cell = where, cell
            raise
    return out
