"""What a pipeline step logs: JSON lines in ``<run_dir>/<step>/tracking.jsonl``.

Inside a step, the Python API never talks to MLflow: parallel steps writing one SQLite file
would lock each other out, and each kernel would pay the import. Each call appends one line
here instead; when the run ends, `sync_run` logs every step's journal into that step's
nested MLflow run, in batches, from one process.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_mlops.tracking.store import Metric, as_number, now_ms, param_value, tag_value

FILE = "tracking.jsonl"
TRACKED_FILES = "tracked"  # copies of files given to log_artifact, inside the step folder

_lock = threading.Lock()


def current_step() -> tuple[Path, str] | None:
    """``(run_dir, step)`` when running as a pipeline step (the runner sets both variables)."""
    step = os.environ.get("NB2PIPE_STEP")
    run_dir = os.environ.get("NB2PIPE_RUN_DIR")
    if not step or not run_dir:
        return None
    return Path(run_dir).resolve(), step


@dataclass
class StepJournal:
    """Appends one JSON line per API call to a step's journal."""

    run_dir: Path
    step: str

    @property
    def folder(self) -> Path:
        return self.run_dir / self.step

    @property
    def path(self) -> Path:
        return self.folder / FILE

    def _append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True) + "\n"
        with _lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            # One write of one line in append mode: lines never interleave.
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)

    def params(self, values: dict[str, Any]) -> None:
        if values:
            self._append(
                {"kind": "params", "values": {k: param_value(v) for k, v in values.items()}}
            )

    def metrics(self, values: dict[str, float], step: int | None = None) -> None:
        if values:
            self._append(
                {"kind": "metrics", "values": values, "timestamp": now_ms(), "step": step or 0}
            )

    def tags(self, values: dict[str, Any]) -> None:
        if values:
            self._append({"kind": "tags", "values": {k: tag_value(v) for k, v in values.items()}})

    def artifact(self, path: str | os.PathLike, artifact_path: str | None = None) -> Path:
        """Copy the file or folder into the step folder (runs are self-contained); record it."""
        source = Path(path)
        target = self.folder / TRACKED_FILES / (artifact_path or "") / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
        self._append(
            {
                "kind": "artifact",
                "file": target.relative_to(self.folder).as_posix(),
                "artifact_path": artifact_path,
            }
        )
        return target

    def model(self, record: dict[str, Any]) -> None:
        self._append({"kind": "model", **record})


@dataclass
class Journal:
    """A step's journal, read back."""

    params: dict[str, str] = field(default_factory=dict)
    metrics: list[Metric] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: list[tuple[Path, str | None]] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)


def read(step_folder: Path) -> Journal:
    """Parse a step's journal; a torn last line (a killed kernel) is ignored."""
    journal = Journal()
    try:
        lines = (step_folder / FILE).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return journal
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        kind = record.get("kind")
        if kind == "params":
            journal.params.update(record["values"])
        elif kind == "metrics":
            for key, value in record["values"].items():
                number = as_number(value)
                if number is not None:
                    journal.metrics.append(
                        Metric(key, number, int(record["timestamp"]), int(record.get("step", 0)))
                    )
        elif kind == "tags":
            journal.tags.update(record["values"])
        elif kind == "artifact":
            journal.artifacts.append((step_folder / record["file"], record.get("artifact_path")))
        elif kind == "model":
            journal.models.append(record)
    return journal
