"""Small tagged notebooks and helpers for the runner tests (real kernels, real papermill)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from support.commands import NB2PIPE, error_lines, no_tracking_env, run_script
from support.notebooks import EXAMPLES, code, markdown, write_notebook

from nb2pipe.runner import RunResult, load_pipeline, run_pipeline

__all__ = ["NB2PIPE", "code", "error_lines", "markdown", "write_notebook"]

EXAMPLE = EXAMPLES / "breast_cancer_diagnosis.ipynb"


def run(notebook: Path, workspace: Path, **kwargs: Any) -> RunResult:
    """`run_pipeline` with an explicit workspace (never the repository's) and 2 steps at once."""
    kwargs.setdefault("max_parallel", 2)
    return run_pipeline(*load_pipeline(notebook), workspace=workspace, **kwargs)


def statuses(result: RunResult) -> dict[str, str]:
    return {name: step.status for name, step in result.steps.items()}


def meta(result: RunResult, step: str) -> dict:
    return json.loads((result.run_dir / step / "meta.json").read_text(encoding="utf-8"))


def clone_workspace(source: Path, target: Path) -> Path:
    """A private copy of a workspace, so a test can add runs without disturbing others."""
    shutil.copytree(source, target)
    return target


def cli_env() -> dict[str, str]:
    """The environment of a CLI under test: MLflow tracking (an observer plugged in through an
    entry point, tested in tests/jupyter_mlops) off, so the runner alone is under test and no
    mlflow.db appears beside the notebooks."""
    return no_tracking_env()


def cli(*args: str | os.PathLike, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run the `nb2pipe` console script; stdout and stderr captured as text."""
    return run_script("nb2pipe", *args, cwd=cwd, env=cli_env(), timeout=timeout)


def temp_files(folder: Path) -> list[Path]:
    """Leftovers of atomic writes (`.name.<pid>.<hex>.tmp`) anywhere under `folder`."""
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".#")]


# --- the pipeline most cache and status tests share --------------------------------------
#
#   load ──► double ──► total (metric total_value)
#     └────► side
#
# `n` is read by load only, `scale` by double only.

CACHE_PARAMS = "n = 4  # rows\nscale = 2  # factor"
CACHE_DOUBLE = "b = a * scale"


def cache_notebook(
    folder: Path, *, double: str = CACHE_DOUBLE, extra_markdown: bool = False
) -> Path:
    """The shared cache pipeline, with `double`'s code replaceable; always `cache.ipynb`."""
    cells = [
        code(CACHE_PARAMS, "parameters"),
        code("import numpy as np", "imports"),
    ]
    if extra_markdown:
        cells.append(markdown("## A note added later\nMarkdown never changes a fingerprint."))
    cells += [
        code("a = np.arange(n)", "step:load"),
        code(double, "step:double"),
        code("t = float(b.sum())", "step:total"),
        code("total_value = t", "metrics"),
        code("s = a[::-1].copy()", "step:side"),
    ]
    return write_notebook(folder / "cache.ipynb", *cells)
