"""What runs say about each other: data files changed since a run, two runs side by side, and
whether a run can be repeated on the data it read.

Every run records the data files its steps read, by content (run.json ``data_files``: path →
sha256, size, the steps that read it), the environment it ran on, its parameters, and the IR
that ran (its pipeline.yaml: the code of every step). `nb2pipe status` says which data files
changed since the latest run, `nb2pipe diff RUN_A RUN_B` lists what differs between two runs,
and `nb2pipe run --like RUN` repeats a run only on the data it read.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..compile import pipeline_file
from ..compile.ir import Pipeline
from ..errors import Nb2PipeError
from .files import ABSENT, FileHashes
from .fingerprint import normalised_code
from .rundir import RunDir, Workspace


def find_run(space: Workspace, run_id: str, flag: str = "run") -> RunDir:
    """The run `run_id` (or the one run whose id starts with it) of `space`; an error naming
    the newest runs otherwise."""
    run = space.run(run_id) if run_id else None
    if run is None and run_id and "/" not in run_id and not run_id.startswith("."):
        matches = [r for r in space.all_runs() if r.id.startswith(run_id)]
        run = matches[0] if len(matches) == 1 else None
    if run is None:
        newest = ", ".join(r.id for r in space.all_runs()[:3]) or "none yet"
        raise Nb2PipeError(f"{flag} {run_id}: no such run in {space.runs} (newest: {newest})")
    return run


# --- data files --------------------------------------------------------------------------


@dataclass
class DataChange:
    path: str
    run: str  # the run it is compared with
    then: str  # sha256 recorded by that run
    now: str  # sha256 now (files.ABSENT if the file is gone)

    @property
    def message(self) -> str:
        if self.now == ABSENT:
            return f"{self.path} is gone since run {self.run}"
        return f"{self.path} changed since run {self.run}"


def data_changes(space: Workspace, notebook: Path) -> list[DataChange]:
    """The data files the latest finished run of `notebook` read that differ now."""
    notebook, root = Path(notebook).resolve(), Path(notebook).resolve().parent
    for run in space.all_runs():
        info = run.info()
        files = info.get("data_files")
        if info.get("status") == "running" or not isinstance(files, dict):
            continue
        if Path(info.get("source") or "").resolve() != notebook:
            continue
        return changed_files(files, root, run.id, FileHashes(space.root / "file-hashes.json", root))
    return []


def changed_files(files: dict, root: Path, run_id: str, hashes: FileHashes) -> list[DataChange]:
    out = []
    for path, entry in sorted(files.items()):
        then = entry.get("sha256") if isinstance(entry, dict) else None
        now = hashes.digest(path)
        if then and now != then:
            out.append(DataChange(path, run_id, then, now))
    hashes.save()
    return out


def check_like(run: RunDir, root: Path) -> None:
    """Refuse to repeat `run` when a data file it read is not what it was (one line, naming
    the file and both hashes)."""
    files = _mapping(run.info().get("data_files"))
    changes = changed_files(
        files, root, run.id, FileHashes(run.path.parent.parent / "file-hashes.json", root)
    )
    if changes:
        change = changes[0]
        what = "gone" if change.now == ABSENT else "changed"
        now = "the file is gone" if change.now == ABSENT else f"{change.now[:12]} now"
        raise Nb2PipeError(
            f"{what} since run {run.id} (sha256 {change.then[:12]} then, {now}): --like "
            "repeats a run only on the data it read",
            file=change.path,
        )


# --- two runs side by side ---------------------------------------------------------------


@dataclass
class RunDiff:
    a: str
    b: str
    params: list[tuple[str, Any, Any]] = field(default_factory=list)
    code: list[tuple[str, str]] = field(default_factory=list)  # (step, unified diff or note)
    data: list[tuple[str, dict | None, dict | None]] = field(default_factory=list)
    environment: list[tuple[str, Any, Any]] = field(default_factory=list)
    metrics: list[tuple[str, float | None, float | None]] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not (self.params or self.code or self.data or self.environment or self.metrics)

    def lines(self) -> list[str]:
        out = [f"runs {self.a} → {self.b}"]
        out += _section("parameters", [f"{k}: {_show(x)} → {_show(y)}" for k, x, y in self.params])
        out += _section("code", [f"step {s}: {text}" for s, text in self.code])
        out += _section("data files", [f"{p}: {_file(x)} → {_file(y)}" for p, x, y in self.data])
        out += _section(
            "environment", [f"{k}: {_show(x)} → {_show(y)}" for k, x, y in self.environment]
        )
        out += _section("metrics", [_metric(k, x, y) for k, x, y in self.metrics])
        return out


def diff_runs(a: RunDir, b: RunDir) -> RunDiff:
    """What differs between runs `a` and `b`: parameters, code step by step, data files by
    hash, environment, metrics."""
    info_a, info_b = a.info(), b.info()
    diff = RunDiff(a.id, b.id)
    diff.params = _changed(_mapping(info_a.get("params")), _mapping(info_b.get("params")))
    diff.code = _code(_pipeline(a), _pipeline(b))
    # run.json is ours, but a hand may have edited it: what is not the shape we write is absent
    files_a, files_b = _mapping(info_a.get("data_files")), _mapping(info_b.get("data_files"))
    for path in sorted(set(files_a) | set(files_b)):
        x, y = _mapping(files_a.get(path)) or None, _mapping(files_b.get(path)) or None
        if (x or {}).get("sha256") != (y or {}).get("sha256"):
            diff.data.append((path, x, y))
    env_a, env_b = _mapping(info_a.get("environment")), _mapping(info_b.get("environment"))
    flat_a = {"python": env_a.get("python"), **_mapping(env_a.get("packages"))}
    flat_b = {"python": env_b.get("python"), **_mapping(env_b.get("packages"))}
    diff.environment = _changed(flat_a, flat_b)
    diff.metrics = _changed(metrics(a, info_a), metrics(b, info_b))
    return diff


def changed_code(run: RunDir, pipeline: Pipeline) -> list[str]:
    """The steps whose code differs between `run` and `pipeline` (the notebook now)."""
    return [step for step, _ in _code(_pipeline(run), pipeline) if step != "*"]


def metrics(run: RunDir, info: dict) -> dict[str, float]:
    from ..artifacts import read_manifest

    out: dict[str, float] = {}
    steps = info.get("steps")
    for step in steps if isinstance(steps, list) else []:
        try:
            found = (read_manifest(run.path, step) or {}).get("metrics", {})
        except (Nb2PipeError, TypeError):  # a step name that is no name
            continue
        out.update(found if isinstance(found, dict) else {})
    return out


def _pipeline(run: RunDir) -> Pipeline | None:
    try:
        return pipeline_file.load((run.path / "pipeline.yaml").read_text(encoding="utf-8"))
    except (OSError, Nb2PipeError):
        return None


def _code(a: Pipeline | None, b: Pipeline | None) -> list[tuple[str, str]]:
    if a is None or b is None:
        return [("*", "a run has no readable pipeline.yaml: code not compared")]
    out = []
    steps_a, steps_b = {s.name: s for s in a.steps}, {s.name: s for s in b.steps}
    for name in [*steps_a, *(n for n in steps_b if n not in steps_a)]:
        if name not in steps_b:
            out.append((name, "only in the first run"))
        elif name not in steps_a:
            out.append((name, "only in the second run"))
        else:
            x, y = _source(a, steps_a[name]), _source(b, steps_b[name])
            if normalised_code_text(x) != normalised_code_text(y):
                patch = difflib.unified_diff(x, y, f"{name} (a)", f"{name} (b)", lineterm="", n=1)
                out.append((name, "changed\n" + "\n".join(f"    {line}" for line in patch)))
    return out


def _source(pipeline: Pipeline, step) -> list[str]:
    cells = pipeline.imports + pipeline.functions + step.replay + step.cells
    return "\n".join(c.source for c in cells if c.kind == "code").splitlines()


def normalised_code_text(lines: list[str]) -> str:
    """Code as the interpreter sees it (comments and layout ignored), as fingerprints do."""
    from ..compile.ir import Cell

    return normalised_code([Cell(0, "code", "\n".join(lines))])


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _changed(a: dict, b: dict) -> list[tuple[str, Any, Any]]:
    return [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def _section(title: str, lines: list[str]) -> list[str]:
    return [f"{title}: same"] if not lines else [f"{title}:", *(f"  {line}" for line in lines)]


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value) if isinstance(value, str) else str(value)


def _file(entry: dict | None) -> str:
    if not entry:
        return "(not read)"
    size = entry.get("size")
    digest = str(entry.get("sha256"))[:12]
    return f"{digest} ({size:,} bytes)" if isinstance(size, int) else digest


def _metric(name: str, a: float | None, b: float | None) -> str:
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b)):
        return f"{name}: {_show(a)} → {_show(b)}"
    return f"{name}: {a:.6g} → {b:.6g} ({b - a:+.3g})"
