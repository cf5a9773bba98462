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

import os
import secrets
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from ..fileio import read_json, write_json

WORKSPACE = ".nb2pipe"
DONE = ("done", "cached")


def project_root(notebook: Path) -> Path:
    """The nearest folder above the notebook holding pyproject.toml or .git, else its folder."""
    folder = notebook.resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / "pyproject.toml").exists() or (candidate / ".git").exists():
            return candidate
    return folder


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
        """run.json; a run left "running" by a process that is gone (killed, out of memory,
        the machine rebooted) is marked "interrupted" here, the first time anyone reads it."""
        info = read_json(self.path / "run.json")
        if not isinstance(info, dict):
            return {}  # not a record we wrote: `--resume` refuses it (source.choose_run)
        if info.get("status") == "running" and process_alive(info) is False:
            info = self._interrupted(info)
        return info

    def _interrupted(self, info: dict) -> dict:
        info = {**info, "status": "interrupted", "note": "the process running it stopped"}
        try:
            for meta_file in self.path.glob("*/meta.json"):
                meta = read_json(meta_file)
                if meta and meta.get("status") == "running":
                    write_json(meta_file, {**meta, "status": "interrupted"})
            write_json(self.path / "run.json", info)
        except OSError:
            pass  # read-only or full: say it all the same
        return info

    def write_info(self, info: dict) -> None:
        write_json(self.path / "run.json", info)


class Workspace:
    """The `.nb2pipe` folder of a project: its runs and its cache index."""

    storage = None  # a workspace at a URL publishes there (remote.py)

    def __init__(self, root: Path):
        self.root = Path(root)
        self.runs = self.root / "runs"
        self.cache = self.root / "cache"

    @classmethod
    def for_notebook(cls, notebook: Path) -> Workspace:
        return cls(project_root(notebook) / WORKSPACE)

    def publishers(self) -> list:
        """Observers that copy the run elsewhere as it goes (none for a local workspace)."""
        return []

    def new_run(self) -> RunDir:
        # Run ids sort by time (`all_runs`, "the latest run"): runs served by the cache start
        # several a second, so the milliseconds lead the six hex digits, then three random ones.
        now = time.time()
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
        millis = int(now * 1000) % 1000
        run = RunDir(self.runs / f"{stamp}-{millis:03d}{secrets.token_hex(2)[:3]}")
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


def process_marks() -> dict:
    """What run.json records of the process running a run, to tell later whether it is alive."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "process_start": _started(os.getpid()),
    }


def process_alive(info: dict) -> bool | None:
    """Whether the process that wrote `info` still runs; None when this machine cannot tell."""
    pid, host = info.get("pid"), info.get("host")
    if not isinstance(pid, int) or isinstance(pid, bool) or host != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        pass
    started = info.get("process_start")
    return started is None or _started(pid) in (None, started)  # a reused pid is not the run


def _started(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat[stat.rindex(")") + 2 :].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def seal(step_dir: Path) -> None:
    """Make a finished step's record read-only (executed notebook, log, artifacts), so that an
    editor's autosave or a slip of the hand cannot rewrite what the run computed."""
    for item in [step_dir / "notebook.ipynb", step_dir / "log.txt", *step_dir.glob("artifacts/*")]:
        try:
            if item.is_file() and not item.is_symlink():
                item.chmod(item.stat().st_mode & ~0o222)
        except OSError:
            pass  # a file system without modes: the record is still whole
