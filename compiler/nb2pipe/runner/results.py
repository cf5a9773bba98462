"""What a run returns: per step and for the whole run."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..compile.ir import Pipeline
from ..errors import StepFailed


@dataclass
class StepResult:
    name: str
    status: str  # done | cached | failed | skipped | interrupted
    duration: float = 0.0
    fingerprint: str | None = None
    cached_from: str | None = None
    error: dict | None = None
    notebook: Path | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    artifacts: dict[str, dict] = field(default_factory=dict)

    @property
    def cache_hit(self) -> bool:
        return self.status == "cached"


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    pipeline: Pipeline
    params: dict[str, Any]
    status: str  # succeeded | failed | interrupted
    steps: dict[str, StepResult]
    start: float
    end: float
    source: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for result in self.steps.values():
            out.update(result.metrics)
        return out

    def failure(self) -> StepFailed | None:
        """The first failed step as a one-line error: step, cell, executed notebook to open."""
        for result in self.steps.values():
            if result.status == "failed":
                error = result.error or {}
                where = os.path.relpath(result.notebook) if result.notebook else "?"
                return StepFailed(
                    f"step {result.name!r} failed: {error.get('message', 'unknown error')} "
                    f"(open {where})",
                    file=str(self.source) if self.source else None,
                    cell=error.get("cell"),
                )
        return None
