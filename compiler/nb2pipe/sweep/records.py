"""Where sweeps live: `.nb2pipe/sweeps/<sweep-id>/sweep.json`, beside the runs of its trials.

```
.nb2pipe/sweeps/<sweep-id>/sweep.json   pipeline, notebook, how it searched (grid, random,
                                         optuna), the space, the metric and its direction,
                                         status, and per trial its parameters, run id,
                                         status and metric value; the best trial
.nb2pipe/runs/<run-id>/run.json          a trial's run says {"sweep": {"id", "trial", "dir"}}
```

sweep.json is rewritten whole (atomically) as each trial ends, so a reader never sees half of
it, and a sweep stopped half-way still says which trials ended and how.
"""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..fileio import plain, read_json, write_json
from .search import Trial

SWEEPS = "sweeps"
FILE = "sweep.json"


@dataclass
class SweepResult:
    id: str
    path: Path
    pipeline: str
    source: Path
    mode: str
    metric: str | None
    direction: str
    trials: list[Trial]
    status: str = "running"
    start: float = field(default_factory=time.time)
    end: float | None = None
    space: list[dict] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return (self.end or time.time()) - self.start

    @property
    def best(self) -> Trial | None:
        """The trial with the best value of the metric among those that succeeded (the
        lowest number on a tie); None without a metric or a trial that has a value."""
        scored = [
            t
            for t in self.trials
            if t.status == "succeeded" and t.value is not None and math.isfinite(t.value)
        ]
        if not scored:
            return None
        sign = -1 if self.direction == "max" else 1
        return min(scored, key=lambda t: (sign * t.value, t.number))

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for trial in self.trials:
            out[trial.status] = out.get(trial.status, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        best = self.best
        return plain(
            {
                "id": self.id,
                "pipeline": self.pipeline,
                "source": str(self.source),
                "mode": self.mode,
                "metric": self.metric,
                "direction": self.direction,
                "space": self.space,
                "status": self.status,
                "start": self.start,
                "end": self.end,
                "trials": [t.to_dict() for t in self.trials],
                "best": best.number if best is not None else None,
            }
        )

    def save(self) -> None:
        write_json(self.path / FILE, self.to_dict())


def new_sweep_dir(root: Path) -> Path:
    path = Path(root) / SWEEPS / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    path.mkdir(parents=True)
    return path


def read_sweep(path: Path) -> dict[str, Any] | None:
    """A sweep's sweep.json, or None if `path` holds none."""
    return read_json(Path(path) / FILE)


def best_of(sweep: dict[str, Any]) -> dict[str, Any] | None:
    """The best trial's entry of a sweep.json (None without one)."""
    number = sweep.get("best")
    return next((t for t in sweep.get("trials", []) if t.get("number") == number), None)
