"""Where runs live: `.nb2pipe/runs/<run-id>/` with one folder per step.

```
.nb2pipe/
  runs/<run-id>/run.json              pipeline, parameters, status, start, end
  runs/<run-id>/pipeline.yaml         the IR that ran
  runs/<run-id>/<step>/notebook.ipynb the executed step notebook
  runs/<run-id>/<step>/log.txt        what the step printed
  runs/<run-id>/<step>/meta.json      status, start, end, duration, fingerprint, cache hit, error
  runs/<run-id>/<step>/artifacts/     outputs + manifest.json (see nb2pipe.artifacts)
  cache/<fingerprint>                 "<run-id>/<step>" of a finished step with that fingerprint
```
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from ..notebook import write_atomic

WORKSPACE = ".nb2pipe"
DONE = ("done", "cached")


def project_root(notebook: Path) -> Path:
    """The nearest folder above the notebook holding pyproject.toml or .git, else its folder."""
    folder = notebook.resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / "pyproject.toml").exists() or (candidate / ".git").exists():
            return candidate
    return folder


def write_json(path: Path, data: dict) -> None:
    write_atomic(path, json.dumps(data, indent=1, sort_keys=True, default=str) + "\n")


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


@dataclass
class RunDir:
    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    def step_dir(self, step: str) -> Path:
        return self.path / step

    def notebook(self, step: str) -> Path:
        return self.path / step / "notebook.ipynb"

    def log(self, step: str) -> Path:
        return self.path / step / "log.txt"

    def artifacts(self, step: str) -> Path:
        return self.path / step / "artifacts"

    def meta(self, step: str) -> dict | None:
        return read_json(self.path / step / "meta.json")

    def write_meta(self, step: str, meta: dict) -> None:
        write_json(self.path / step / "meta.json", meta)

    def info(self) -> dict:
        return read_json(self.path / "run.json") or {}

    def write_info(self, info: dict) -> None:
        write_json(self.path / "run.json", info)


class Workspace:
    """The `.nb2pipe` folder of a project: its runs and its cache index."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.runs = self.root / "runs"
        self.cache = self.root / "cache"

    @classmethod
    def for_notebook(cls, notebook: Path) -> Workspace:
        return cls(project_root(notebook) / WORKSPACE)

    @classmethod
    def at(cls, workspace: str | os.PathLike | None, notebook: Path) -> Workspace:
        """The workspace asked for, else the notebook project's. Absolute: run directories
        are handed to kernels whose working directory is the notebook's folder, where a
        relative path would put the artifacts somewhere else."""
        return cls(Path(workspace).resolve()) if workspace else cls.for_notebook(notebook)

    def new_run(self) -> RunDir:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run = RunDir(self.runs / f"{stamp}-{secrets.token_hex(3)}")
        run.path.mkdir(parents=True)
        return run

    def run(self, run_id: str) -> RunDir | None:
        if not run_id or "/" in run_id or run_id.startswith("."):
            return None
        path = self.runs / run_id
        return RunDir(path) if (path / "run.json").exists() else None

    def all_runs(self, pipeline: str | None = None) -> list[RunDir]:
        """Runs, newest first (run ids sort by time)."""
        if not self.runs.is_dir():
            return []
        runs = [RunDir(p) for p in sorted(self.runs.iterdir(), reverse=True) if p.is_dir()]
        if pipeline is not None:
            runs = [r for r in runs if r.info().get("pipeline") == pipeline]
        return runs
