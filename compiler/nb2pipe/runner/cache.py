"""Is this step up to date? The one module that decides, for `nb2pipe run` and `nb2pipe status`.

A step is reused when an earlier finished step had the same fingerprint (fingerprint.py) and
everything it left still verifies: every artifact against the sha256 in its manifest, every file
it wrote against the hash recorded when it ran. Reuse *copies* the earlier step's files into the
new run (verifying while copying), so finished runs never share an inode that a later write —
an editor's autosave of an executed notebook, a user's edit — could change in both. A cache
entry that does not verify is dropped with a warning and the step runs again.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..artifacts import MANIFEST, file_entries, read_manifest
from ..compile.ir import Pipeline, Step
from ..compile.paths import looks_like_path
from ..compile.tags import STEP_NAME
from ..errors import ArtifactError
from .files import FileHashes, local_modules
from .fingerprint import Environment, Parts, parts_for
from .rundir import DONE, RunDir, Workspace

RUN_ID = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{6}\Z")
_CHUNK = 1 << 20


@dataclass
class Hit:
    run: RunDir
    step: str
    cached_from: str


class StepCache:
    def __init__(self, space: Workspace, pipeline: Pipeline, notebook: Path, params: dict):
        self.space = space
        self.pipeline = pipeline
        self.root = notebook.parent
        self.params = params
        self.env = Environment(space.root / "env-cache.json")
        self.files = FileHashes(space.root / "file-hashes.json", self.root)
        self.warnings: list[tuple[str, str]] = []  # (step, message), for the caller to report

    # --- fingerprints ----------------------------------------------------------------------
    def input_hashes(self, step: Step, runs: dict[str, Path | None]) -> dict[str, str]:
        """sha256 of each input artifact; `runs` says where each producer's results are (None:
        not yet known, as in `status` for a producer that will run)."""
        hashes = {}
        for item in step.inputs:
            # The latest step that saved it: a step in between may have saved it again.
            for source in [*reversed(item.resaved_by), item.producer]:
                run_path = runs.get(source)
                manifest = read_manifest(run_path, source) if run_path else None
                entry = (manifest or {}).get("artifacts", {}).get(item.name)
                if entry or run_path is None:
                    break
            hashes[f"{item.producer}.{item.name}"] = entry["sha256"] if entry else "pending"
        return hashes

    def parts(self, step: Step, inputs: dict[str, str], image: str | None = None) -> Parts:
        read = self.data_read(step) | set(local_modules(self.root, step.imports))
        files = {path: self.files.digest(path) for path in sorted(read)}
        parts = parts_for(self.pipeline, step, self.params, inputs, self.env, files)
        if image:  # a result made in another image (or a kernel) proves nothing here
            parts.env = f"{parts.env}+{image}"
        return parts

    def data_read(self, step: Step) -> set[str]:
        """The data files `step` reads: the paths its code names, its `inputs:`, and the files
        its string parameters name with this run's values (`-p data other.csv` reads other.csv,
        which the compiler, seeing only the default, could not know)."""
        read = set(step.files_read)
        for name in step.params:
            value = self.params.get(name)
            if (
                isinstance(value, str)
                and looks_like_path(value)
                and value not in step.files_written
                and (self.root / value).is_file()
            ):
                read.add(value)
        return read

    def step_files(self, step: Step, parts: Parts) -> dict[str, dict]:
        """The data files `step` reads, by content: sha256 (when fingerprinted) and size (local
        modules are code, not data)."""
        return {
            path: {"sha256": parts.files[path], "size": self.files.size(path)}
            for path in sorted(self.data_read(step))
            if path in parts.files
        }

    @staticmethod
    def data_files(steps: dict[str, dict[str, dict]]) -> dict[str, dict]:
        """The data files of a run, from each step's: who read which version of what."""
        out: dict[str, dict] = {}
        for name, files in steps.items():
            for path, entry in files.items():
                out.setdefault(path, {**entry, "steps": []})["steps"].append(name)
        return dict(sorted(out.items()))

    def environment(self) -> dict:
        """What the steps ran on: the Python version and the version of each distribution
        they import (run.json keeps it, for `nb2pipe diff`)."""
        import sys

        modules = sorted({m for step in self.pipeline.steps for m in step.imports})
        packages = {m: self.env.version(m) for m in modules}
        return {
            "python": ".".join(map(str, sys.version_info[:3])),
            "packages": {m: v for m, v in packages.items() if v and v != "stdlib"},
        }

    def written(self, step: Step) -> dict[str, str]:
        """The files a step writes, as they are now (recorded when it finishes)."""
        return {path: self.files.digest(path) for path in step.files_written}

    def save(self) -> None:
        self.files.save()

    # --- lookup ----------------------------------------------------------------------------
    def find(self, step: Step, parts: Parts, *, drop: bool = True) -> Hit | None:
        """The finished step with this fingerprint whose results all still verify; an entry
        that does not verify is reported (and, with `drop`, removed from the index)."""
        fingerprint = parts.fingerprint()
        entry = self.space.cache / fingerprint
        try:
            ref = entry.read_text(encoding="utf-8").strip()
        except (FileNotFoundError, UnicodeDecodeError, IsADirectoryError):
            return None
        run_id, _, name = ref.partition("/")
        if not RUN_ID.match(run_id) or not STEP_NAME.match(name):
            self._drop(entry, step, f"the cache entry {fingerprint[:12]} is malformed", drop)
            return None
        run = RunDir(self.space.runs / run_id)
        meta = run.meta(name) or {}
        if meta.get("status") not in DONE:
            return None  # that run was deleted or never finished: a plain miss
        problem = self._verify(run, name, meta)
        if problem:
            self._drop(entry, step, f"the cached result from run {run_id} {problem}", drop)
            return None
        return Hit(run, name, meta.get("cached_from") or run.id)

    def _verify(self, run: RunDir, name: str, meta: dict) -> str | None:
        try:
            manifest = read_manifest(run.path, name)
        except ArtifactError:
            return "has a corrupt manifest"
        if manifest is None:
            return "has no manifest"
        folder = run.artifacts(name)
        for label, item in file_entries(manifest):
            file = item.get("file") if isinstance(item, dict) else None
            if not isinstance(file, str) or Path(file).name != file or file in ("", ".", ".."):
                return f"names a bad artifact file {file!r}"
            path = folder / file
            if not path.is_file() or path.is_symlink():
                return f"lost artifact {label!r}"
            if _sha256(path) != item.get("sha256"):
                return f"has a corrupt artifact {label!r} (it does not match its sha256)"
        for path, digest in (meta.get("files_written") or {}).items():
            if self.files.digest(path) != digest:
                return f"wrote {path}, which has changed since"
        return None

    def _drop(self, entry: Path, step: Step, problem: str, drop: bool) -> None:
        if drop:
            entry.unlink(missing_ok=True)
        self.warnings.append((step.name, problem))

    def reuse(self, hit: Hit, run: RunDir, step: str) -> None:
        """Copy the earlier step's folder into `run` (artifacts verified while copied)."""
        if hit.run.path == run.path:
            return
        source, target = hit.run.step_dir(hit.step), run.step_dir(step)
        manifest = read_manifest(hit.run.path, hit.step) or {}
        expected = {
            item["file"]: item["sha256"]
            for _, item in file_entries(manifest)
            if isinstance(item, dict) and "file" in item and "sha256" in item
        }
        _copy_tree(source, target, expected)

    def remember(self, parts: Parts, run: RunDir, step: str) -> None:
        from ..fileio import write_atomic

        write_atomic(self.space.cache / parts.fingerprint(), f"{run.id}/{step}\n")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_tree(source: Path, target: Path, expected: dict[str, str]) -> None:
    """Copy `source` into a fresh `target`; an artifact whose bytes do not match `expected`
    while copied is an `ArtifactError` (it changed between verification and copy)."""
    import shutil

    shutil.rmtree(target, ignore_errors=True)
    for folder, dirs, files in os.walk(source):
        dirs[:] = [d for d in dirs if not (Path(folder) / d).is_symlink()]
        destination = target / Path(folder).relative_to(source)
        destination.mkdir(parents=True, exist_ok=True)
        for name in files:
            item = Path(folder) / name
            if item.is_symlink() or name.endswith(".tmp"):
                continue
            want = expected.get(name) if Path(folder).name == "artifacts" else None
            _copy_file(item, destination / name, want)


def _copy_file(source: Path, target: Path, sha256: str | None) -> None:
    digest = hashlib.sha256()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(source, "rb") as src, open(tmp, "wb") as dst:
            while chunk := src.read(_CHUNK):
                digest.update(chunk)
                dst.write(chunk)
        if sha256 is not None and digest.hexdigest() != sha256 and source.name != MANIFEST:
            raise ArtifactError(f"{source} changed while it was being reused")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
