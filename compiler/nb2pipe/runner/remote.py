"""A workspace at a URL: the coordinator works in a local copy and publishes to the URL.

The URL (storage.py) is the shared truth: its ``cache/`` index says which finished step has
which fingerprint, its ``runs/`` hold every finished step a team member published. The machine
running ``nb2pipe run`` keeps a working copy of each run in its local ``.nb2pipe/`` (where the
records, the observers, the sidebar and ``nb2pipe status`` read it as usual) and publishes it:

- `Publisher`, an observer, sends run.json, pipeline.yaml and each step folder as they change;
- `RemoteCache.remember` publishes a finished step (manifest last) *before* its cache entry, so
  an entry always points at a whole step;
- `RemoteCache.find` downloads the step an entry names into a local staging folder, every
  artifact checked against its sha256 on the way and again by the local cache's checks; a
  step that does not verify (a changed byte at the URL) is dropped and runs again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..compile.ir import Step
from ..compile.tags import STEP_NAME
from ..errors import Nb2PipeError
from . import events as ev
from .cache import RUN_ID, Hit, StepCache
from .fingerprint import Parts
from .rundir import DONE, RunDir, Workspace
from .storage import Storage

STAGING = "staging"  # <local workspace>/staging/<run-id>/<step>: steps fetched from the URL


class RemoteWorkspace(Workspace):
    """Runs and cache at `storage`'s URL, worked on in the local workspace at `root`."""

    def __init__(self, root: Path, storage: Storage):
        super().__init__(root)
        self.storage = storage

    def publishers(self) -> list[ev.Observer]:
        return [Publisher(self.storage)]


class RemoteCache(StepCache):
    """The cache index and finished steps at the URL; fingerprints computed here as locally."""

    def find(self, step: Step, parts: Parts, *, drop: bool = True) -> Hit | None:
        storage: Storage = self.space.storage
        fingerprint = parts.fingerprint()
        entry = f"cache/{fingerprint}"
        raw = storage.read(entry)
        if raw is None:
            return None
        run_id, _, name = raw.decode("utf-8", "replace").strip().partition("/")
        if not RUN_ID.match(run_id) or not STEP_NAME.match(name):
            self._drop_remote(entry, step, f"the cache entry {fingerprint[:12]} is malformed", drop)
            return None
        try:
            meta = json.loads(storage.read(f"runs/{run_id}/{name}/meta.json") or b"{}")
        except ValueError:
            meta = {}
        if meta.get("status") not in DONE:
            return None  # that run was deleted or never finished: a plain miss
        run = RunDir(self.space.root / STAGING / run_id)
        folder = run.step_dir(name)
        shutil.rmtree(folder, ignore_errors=True)
        try:
            storage.get_step(run_id, name, folder)
            run.write_meta(name, meta)
        except Nb2PipeError as e:
            problem = f"the cached result from run {run_id} at {storage.url} is corrupt ({e})"
            self._drop_remote(entry, step, problem, drop)
            return None
        problem = self._verify(run, name, meta)
        if problem:
            self._drop_remote(entry, step, f"the cached result from run {run_id} {problem}", drop)
            return None
        return Hit(run, name, meta.get("cached_from") or run_id)

    def remember(self, parts: Parts, run: RunDir, step: str) -> None:
        self.space.storage.put_step(run.step_dir(step), run.id, step)
        self.space.storage.write(f"cache/{parts.fingerprint()}", f"{run.id}/{step}\n".encode())

    def _drop_remote(self, entry: str, step: Step, problem: str, drop: bool) -> None:
        if drop:
            self.space.storage.delete(entry)
        self.warnings.append((step.name, problem))


class Publisher(ev.Observer):
    """Publishes a run's records and step folders to the URL as the run goes."""

    def __init__(self, storage: Storage):
        self.storage = storage
        self.run_dir: Path | None = None

    def __call__(self, event: ev.Event) -> None:
        if event.kind == ev.RUN_STARTED:
            self.run_dir = Path(event.data["run_dir"])
            self._put("pipeline.yaml")
            self._put("run.json")
        elif event.kind in (ev.STEP_FINISHED, ev.STEP_CACHED, ev.STEP_FAILED, ev.STEP_SKIPPED):
            if self.run_dir is not None:
                folder = self.run_dir / event.step
                self.storage.put_step(folder, self.run_dir.name, event.step)
        elif event.kind == ev.RUN_FINISHED:
            self._put("run.json")

    def _put(self, name: str) -> None:
        if self.run_dir is not None and (self.run_dir / name).is_file():
            self.storage.upload(self.run_dir / name, f"runs/{self.run_dir.name}/{name}")

    def __repr__(self) -> str:
        return f"publisher to {self.storage.url}"
