"""The floor of a pipeline run: what no runner can beat on this machine, from the run's own
records — one kernel start, the notebook's imports once, and the steps' own cell times along the
critical path (or, if they cannot all run at once, spread over the kernels there were).

Cell times are papermill's, from each step's executed notebook in the run folder; the kernel
start is measured here (a kernel started and answering, as papermill's first cell waits for).
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass
class Floor:
    kernel: float  # one kernel start
    imports: float  # the notebook's imports cells, run once
    path: float  # the steps' cell times along the critical path (or spread over the kernels)
    cells: float  # every step's cell times, summed

    @property
    def seconds(self) -> float:
        return self.kernel + self.imports + self.path

    def says(self) -> str:
        return (
            f"floor {self.seconds:.2f} s = kernel start {self.kernel:.2f} + imports "
            f"{self.imports:.2f} + critical path {self.path:.2f}"
        )


def kernel_start(repeat: int = 3) -> float:
    """Median seconds from asking for a python3 kernel to its answering."""
    from jupyter_client.manager import start_new_kernel

    took = []
    for _ in range(repeat):
        start = time.perf_counter()
        manager, client = start_new_kernel(kernel_name="python3")
        took.append(time.perf_counter() - start)
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return statistics.median(took)


def newest_run(runs: Path) -> Path:
    return max((p for p in runs.iterdir() if (p / "run.json").exists()), key=lambda p: p.name)


def cell_seconds(notebook: Path, tag: str | None = None) -> float:
    """The executed notebook's cell times (papermill's), only cells tagged `tag` if given."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return sum(
        (c["metadata"].get("papermill") or {}).get("duration") or 0.0
        for c in cells
        if tag is None or tag in c["metadata"].get("tags", [])
    )


def of_run(run_dir: Path, kernel: float, imports: float = 0.0, kernels: int = 1) -> Floor:
    """The floor of the run in `run_dir`; `kernels`: how many could run steps at once."""
    pipeline = yaml.load(
        (run_dir / "pipeline.yaml").read_text(encoding="utf-8"), Loader=yaml.CSafeLoader
    )
    own, finish = {}, {}
    for step in pipeline["steps"]:  # in dependency order
        executed = run_dir / step["name"] / "notebook.ipynb"
        own[step["name"]] = cell_seconds(executed) if executed.exists() else 0.0
        before = max((finish[u] for u in step.get("upstream", []) if u in finish), default=0.0)
        finish[step["name"]] = before + own[step["name"]]
    total = sum(own.values())
    path = max(max(finish.values(), default=0.0), total / max(1, kernels))
    return Floor(kernel, imports, path, total)


def run_seconds(run_dir: Path) -> float:
    """The run's own duration (run.json: from its start to its end)."""
    return json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["duration"]
