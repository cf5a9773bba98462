"""A step debugged live: what `%mlops load STEP` runs in the user's kernel.

The compiled step notebook already says how a step starts: its parameters cell (then the values
papermill injects), the shared imports and helpers, the statements it replays from earlier
steps (imports, global settings), and its load cell (inputs from the upstream steps' artifacts,
checked against their sha256, and the global random state it continues from). `plan_load` takes
those very cells from the step notebook of the IR that ran (the run's own pipeline.yaml), with
the run's parameter values and folder, so the kernel ends up where the pipeline's step began —
and the step's own cells can be run and changed by hand. Every artifact is checked against its
sha256 before any cell runs: a damaged run is refused whole, nothing half bound.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..compile import pipeline_file
from ..compile.build import RUN_DIR_PARAM, step_notebook
from ..compile.ir import Pipeline, Step
from ..errors import ArtifactError, Nb2PipeError
from .rundir import DONE, RunDir, Workspace
from .workspaces import open_workspace

ROLES = ("parameters", "imports", "functions", "replay", "load")  # the cells a step starts with


@dataclass
class StepLoad:
    run: RunDir
    step: Step
    cells: list[tuple[str, str]]  # (role, source) to run in order
    params: dict[str, Any] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)  # "name (from producer)"

    def summary(self) -> str:
        parts = []
        if self.inputs:
            parts.append(f"inputs {', '.join(self.inputs)}")
        if self.params:
            parts.append(
                "parameters " + ", ".join(f"{k}={v!r}" for k, v in sorted(self.params.items()))
            )
        bound = "; ".join(parts) or "nothing to bind (the step reads no inputs or parameters)"
        cells = [c.number for c in self.step.cells if c.kind == "code"]
        where = f"cells {cells[0]}–{cells[-1]}" if len(cells) > 1 else f"cell {cells[0]}"
        return (
            f"loaded step {self.step.name!r} of run {self.run.id}: {bound}; imports, settings "
            f"and random state replayed. Run the step's {where} by hand."
        )


def plan_load(
    notebook: Path, step: str, run_id: str | None = None, workspace: str | None = None
) -> StepLoad:
    """What to run in a kernel to begin step `step` of `notebook` as run `run_id` (default:
    the newest run whose upstream steps of `step` finished) began it; every artifact it reads
    checked against its sha256."""
    notebook = Path(notebook).resolve()
    space = open_workspace(workspace, notebook)
    if run_id is not None:
        from .history import find_run

        run = find_run(space, run_id, "--run")
        if _source(run) != notebook:
            raise Nb2PipeError(
                f"--run {run.id}: that run is of {run.info().get('source')}, not this notebook",
                file=str(notebook),
            )
        pipeline = _ran(run)
        target = _step(pipeline, step, notebook)
        problem = _unfinished(run, target)
        if problem:
            raise Nb2PipeError(f"--run {run.id}: {problem}", file=str(notebook))
    else:
        run, pipeline, target = _newest(space, notebook, step)
    _verify(run, target)
    info = run.info()
    values = {name: (info.get("params") or {}).get(name) for name in target.params}
    cells = []
    for cell in step_notebook(pipeline, target)["cells"]:
        role = (cell.get("metadata", {}).get("nb2pipe") or {}).get("role")
        if cell["cell_type"] != "code" or role not in ROLES:
            continue
        cells.append((role, "".join(cell["source"])))
        if role == "parameters":  # what papermill injects after it
            injected = [
                f"{name} = {_literal(pipeline, name, value)}" for name, value in values.items()
            ]
            injected.append(f"{RUN_DIR_PARAM} = {str(run.path)!r}")
            cells.append(("injected-parameters", "\n".join(injected)))
    inputs = [f"{i.name} (from {i.producer})" for i in target.inputs]
    return StepLoad(run, target, cells, values, inputs)


def _literal(pipeline: Pipeline, name: str, value: Any) -> str:
    """`value` as the Python literal of the parameter's type (JSON gave lists for tuples)."""
    kind = pipeline.param(name).type
    if kind == "tuple" and isinstance(value, list):
        return repr(tuple(value))
    if kind == "set" and isinstance(value, list):
        return repr(set(value)) if value else "set()"
    return repr(value)


def _source(run: RunDir) -> Path:
    return Path(run.info().get("source") or "").resolve()


def _ran(run: RunDir) -> Pipeline:
    try:
        return pipeline_file.load((run.path / "pipeline.yaml").read_text(encoding="utf-8"))
    except (OSError, Nb2PipeError) as e:
        raise Nb2PipeError(f"run {run.id}: its pipeline.yaml cannot be read ({e})") from None


def _step(pipeline: Pipeline, name: str, notebook: Path) -> Step:
    try:
        return pipeline.step(name)
    except KeyError:
        import difflib

        names = [s.name for s in pipeline.steps]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"steps: {', '.join(names)}"
        raise Nb2PipeError(f"no step {name!r} ({hint})", file=str(notebook)) from None


def _producers(step: Step) -> list[str]:
    found = [i.producer for i in step.inputs]
    if step.random_from:
        found.append(step.random_from)
    return list(dict.fromkeys(found))


def _unfinished(run: RunDir, step: Step) -> str | None:
    for producer in _producers(step):
        if (run.meta(producer) or {}).get("status") not in DONE:
            return f"step {producer!r}, which {step.name!r} reads from, did not finish there"
    return None


def _newest(space: Workspace, notebook: Path, name: str) -> tuple[RunDir, Pipeline, Step]:
    seen = False
    for run in space.all_runs():
        if _source(run) != notebook:
            continue
        seen = True
        try:
            pipeline = _ran(run)
        except Nb2PipeError:
            continue
        if name not in [s.name for s in pipeline.steps]:
            continue
        step = pipeline.step(name)
        if _unfinished(run, step) is None:
            return run, pipeline, step
    if not seen:
        raise Nb2PipeError(
            "no run of this notebook yet: run its pipeline first", file=str(notebook)
        )
    from ..compile.compiler import compile_notebook

    step = _step(compile_notebook(notebook), name, notebook)
    raise Nb2PipeError(
        f"no run has finished the steps {name!r} reads from "
        f"({', '.join(_producers(step)) or 'none'}): run the pipeline first",
        file=str(notebook),
    )


def _verify(run: RunDir, step: Step) -> None:
    """Every file the load cell reads, against the sha256 in its manifest (then remembered,
    so that the load cell does not hash it again)."""
    from ..artifacts import digest, file_sha256, read_manifest

    wanted: dict[str, list[str]] = {}
    for item in step.inputs:
        wanted.setdefault(item.producer, []).append(item.name)
    if step.random_from:
        wanted.setdefault(step.random_from, [])
    for producer, names in wanted.items():
        manifest = read_manifest(run.path, producer)
        if manifest is None:
            raise ArtifactError(f"run {run.id}: step {producer!r} has no manifest")
        entries = [(n, manifest["artifacts"].get(n)) for n in names]
        if producer == step.random_from:
            entries.append(("random state", manifest.get("random_state")))
        for name, entry in entries:
            where = f"run {run.id}: artifact {name!r} of step {producer!r}"
            if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
                raise ArtifactError(f"{where} is not in its manifest")
            path = run.artifacts(producer) / os.path.basename(entry["file"])
            if not path.is_file():
                raise ArtifactError(f"{where} is missing: {path}")
            if file_sha256(path) != entry.get("sha256"):
                raise ArtifactError(f"{where} does not match its sha256: {path}")
            digest.remember(path, entry["sha256"])
