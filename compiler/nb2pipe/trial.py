"""What a step's code calls to report a training loop's progress: `nb2pipe.trial.report`.

    from nb2pipe.trial import report
    for epoch in range(epochs):
        ...
        report(epoch, val_accuracy=score)

Outside a pipeline run (Run All, a plain kernel) it does nothing. In a step, each call appends
one line to ``<run>/<step>/intermediate.jsonl``; an Optuna sweep (`nb2pipe sweep --optuna`)
reads those lines as the trial's intermediate values, and when its pruner stops the trial it
leaves ``<run>/prune`` behind: the step's next `report` raises `TrialPruned`, the step ends
there and the trial counts as pruned. `jupyter_mlops.log_metrics(..., step=N)` reports too.

Imported by step kernels: standard library only.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

INTERMEDIATE = "intermediate.jsonl"  # in the step folder: {"step": N, "values": {...}} lines
PRUNE = "prune"  # in the run folder: the sweep pruned this trial (the file says why)


class TrialPruned(Exception):
    """The sweep stopped this trial: its intermediate values were not promising."""


def report(step: int, /, **values: float) -> None:
    """Record intermediate `values` at training step `step`; raise `TrialPruned` if the
    sweep running this trial has pruned it."""
    run_dir, name = os.environ.get("NB2PIPE_RUN_DIR"), os.environ.get("NB2PIPE_STEP")
    if not run_dir or not name:
        return
    numbers = {}
    for key, value in values.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            numbers[key] = number
    folder = Path(run_dir) / name
    if numbers:
        folder.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"step": int(step), "values": numbers}, sort_keys=True) + "\n"
        with open(folder / INTERMEDIATE, "a", encoding="utf-8") as f:
            f.write(line)  # one write of one line in append mode: lines never interleave
    flag = Path(run_dir) / PRUNE
    if flag.exists():
        try:
            reason = flag.read_text(encoding="utf-8").strip()
        except OSError:
            reason = ""
        raise TrialPruned(reason or "pruned by the sweep")


def read_reports(step_folder: Path, start: int = 0) -> tuple[list[tuple[int, dict]], int]:
    """The reports in a step folder from byte `start` on, and where the next read starts
    (a line still being written is left for the next read)."""
    try:
        with open(Path(step_folder) / INTERMEDIATE, "rb") as f:
            f.seek(start)
            data = f.read()
    except OSError:
        return [], start
    out = []
    end = data.rfind(b"\n") + 1
    for line in data[:end].splitlines():
        try:
            record = json.loads(line)
            out.append((int(record["step"]), dict(record["values"])))
        except (ValueError, KeyError, TypeError):
            continue
    return out, start + end
