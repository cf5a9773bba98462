"""`nb2pipe status`: per step, would the next run execute it, and why — without running it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..compile.ir import Pipeline
from .fingerprint import GONE, reasons
from .rundir import DONE, RunDir
from .workspaces import open_cache, open_workspace


def step_status(
    pipeline: Pipeline, notebook: Path, params: dict[str, Any], workspace: Path | None = None
) -> list[dict]:
    from .scheduler import resolve_params

    space = open_workspace(workspace, notebook)
    values = resolve_params(pipeline, params)
    cache = open_cache(space, pipeline, notebook, values)
    history = space.all_runs(pipeline.name)
    found: dict[str, Path] = {}  # step -> the run whose results a run would reuse
    rows = []
    for step in pipeline.steps:
        will_run = [u for u in step.upstream if u not in found]
        parts = cache.parts(step, cache.input_hashes(step, found))
        hit = cache.find(step, parts, drop=False) if step.cache and not will_run else None
        problems = [message for name, message in cache.warnings if name == step.name]
        cache.warnings.clear()
        if hit is not None:
            found[step.name] = hit.run.path
            rows.append(
                {"step": step.name, "run": False, "reasons": [f"cached from run {hit.run.id}"]}
            )
            continue
        since, previous = _last_finished(history, step.name)
        why = problems + reasons(parts, previous, cache=step.cache, since=since)
        if will_run:
            why = [f"upstream will run ({', '.join(will_run)})"] + [
                r for r in why if not r.startswith("upstream changed") and r != GONE
            ]
        rows.append({"step": step.name, "run": True, "reasons": why})
    cache.save()
    return rows


def _last_finished(history: list[RunDir], step: str) -> tuple[str | None, dict | None]:
    """The latest run where `step` finished, and its fingerprint parts there."""
    for run in history:
        meta = run.meta(step)
        if meta and meta.get("status") in DONE and meta.get("parts"):
            return run.id, meta["parts"]
    return None, None


def pending(pipeline: Pipeline, notebook: Path, workspace: Path | None = None) -> list[str]:
    """What is still being done for the latest run of `pipeline`, in the words of whoever does
    it (run.json's "pending" notes: an observer logging it in the background)."""
    runs = open_workspace(workspace, notebook).all_runs(pipeline.name)
    if not runs:
        return []
    notes = runs[0].info().get("pending") or {}
    return [f"latest run {runs[0].id}: {n}" for n in notes.values() if isinstance(n, str)]
