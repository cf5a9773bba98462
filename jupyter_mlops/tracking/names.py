"""Run names a person can say: ``breast_cancer_diagnosis · C=0.5``, the notebook and what it changed.

A pipeline run is named by its notebook and the parameters whose values differ from the
notebook's own (its `parameters` cell), in the cell's order: two runs of one notebook differ by
exactly what their names say. A run with the notebook's own values is the notebook's name alone.
The name is set as the MLflow run's name when the run is logged, and the sidebar's routes send it
with every run, so every surface shows the same words (the id stays one click away).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from nb2pipe.fileio import plain  # as run.json stores values: tuples and sets as lists

SEPARATOR = " · "
MAX_VALUE = 24  # characters of one value before it is cut
MAX_NAME = 80  # characters of the whole name (MLflow keeps 250; tables keep fewer)


def value_text(value: Any) -> str:
    """`value` as a person would type it: 0.5, 'rbf' without quotes, [1, 2]."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool) or value is None:
        text = str(value)
    elif isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, (int, list, dict)):
        text = json.dumps(value, separators=(", ", ": "), default=str)
    else:
        text = str(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def changed(params: dict[str, Any], defaults: dict[str, Any]) -> list[tuple[str, Any]]:
    """The parameters of `params` whose value is not the notebook's (`defaults`), in the
    notebook's order; names the notebook does not declare come last, sorted."""
    order = [name for name in defaults if name in params]
    order += sorted(name for name in params if name not in defaults)
    return [
        (name, params[name])
        for name in order
        if name not in defaults or plain(params[name]) != plain(defaults[name])
    ]


def run_name(notebook: str | Path | None, params: dict[str, Any], defaults: dict[str, Any]) -> str:
    """``<notebook> · C=0.5, test_size=0.3``; the notebook's stem alone when nothing changed."""
    stem = Path(str(notebook)).stem if notebook else "pipeline"
    parts = [f"{name}={value_text(value)}" for name, value in changed(params, defaults)]
    if not parts:
        return stem
    name = stem + SEPARATOR + ", ".join(parts)
    return name if len(name) <= MAX_NAME else name[: MAX_NAME - 1] + "…"


def notebook_defaults(pipeline_yaml: Path) -> dict[str, Any]:
    """The parameters cell's values recorded in a run's pipeline.yaml ({} if unreadable)."""
    try:
        import yaml

        data = yaml.safe_load(pipeline_yaml.read_text(encoding="utf-8")) or {}
    except Exception:  # a run folder being written, or hand-edited: no defaults, no claim
        return {}
    out: dict[str, Any] = {}
    for param in data.get("params") or []:
        if not isinstance(param, dict) or not isinstance(param.get("name"), str):
            continue
        if "value" in param:
            out[param["name"]] = param["value"]
        elif isinstance(param.get("literal"), str):
            try:
                out[param["name"]] = ast.literal_eval(param["literal"])
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                continue
    return out


def name_of_run(run_dir: Path, info: dict[str, Any]) -> str:
    """The name of the nb2pipe run in `run_dir` whose run.json is `info`."""
    return run_name(
        info.get("source") or info.get("pipeline"),
        info.get("params") or {},
        notebook_defaults(Path(run_dir) / "pipeline.yaml"),
    )
