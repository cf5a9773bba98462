"""`nb2pipe status`: per step, would the next run execute it, and why — without running it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..artifacts import read_manifest
from ..ir import Pipeline
from .fingerprint import Environment, parts_for, reasons
from .rundir import DONE, RunDir, Workspace


def step_status(
    pipeline: Pipeline, notebook: Path, params: dict[str, Any], workspace: Path | None = None
) -> list[dict]:
    from .scheduler import resolve_params

    space = Workspace.at(workspace, notebook)
    env = Environment(space.root / "env-cache.json")
    values = resolve_params(pipeline, params)
    history = space.all_runs(pipeline.name)
    hits: dict[str, tuple[RunDir, str]] = {}
    rows = []
    for step in pipeline.steps:
        upstream_runs = [u for u in step.upstream if u not in hits]
        inputs = {}
        for item in step.inputs:
            hit = hits.get(item.producer)
            manifest = read_manifest(hit[0].path, hit[1]) if hit else None
            entry = (manifest or {}).get("artifacts", {}).get(item.name)
            inputs[f"{item.producer}.{item.name}"] = entry["sha256"] if entry else "pending"
        parts = parts_for(pipeline, step, values, inputs, env)
        hit = space.cached(parts.fingerprint()) if step.cache and not upstream_runs else None
        if hit is not None:
            hits[step.name] = hit
            rows.append(
                {"step": step.name, "run": False, "reasons": [f"cached from run {hit[0].id}"]}
            )
            continue
        previous = _last_finished(history, step.name)
        why = reasons(parts, previous, cache=step.cache)
        if upstream_runs:
            why = [f"upstream will run ({', '.join(upstream_runs)})"] + [
                r for r in why if not r.startswith("upstream changed")
            ]
        rows.append({"step": step.name, "run": True, "reasons": why})
    return rows


def _last_finished(history: list[RunDir], step: str) -> dict | None:
    for run in history:
        meta = run.meta(step)
        if meta and meta.get("status") in DONE and meta.get("parts"):
            return meta["parts"]
    return None
