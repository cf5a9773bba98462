"""Helpers of the continuous-training tests: small notebooks, synthetic data, the CLI."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from support.commands import NB2PIPE, error_lines, no_tracking_env, run_script
from support.notebooks import EXAMPLES, code, write_notebook

__all__ = ["NB2PIPE", "code", "error_lines", "write_notebook"]

EXAMPLE = EXAMPLES / "continuous_training.ipynb"


def frame(n: int = 400, *, seed: int = 0, shift: float = 0.0, mix=(0.5, 0.3, 0.2)):
    """Two numeric features and a categorical one; `shift` moves `x`, `mix` the categories."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1.0, n),
            "y": rng.exponential(1.0, n),
            "colour": rng.choice(["red", "green", "blue"], n, p=list(mix)),
        }
    )


def marker_notebook(folder: Path, name: str = "retrain.ipynb") -> Path:
    """A one-step pipeline that appends a line to `runs.txt` beside it: fast proof of a run."""
    return write_notebook(
        folder / name,
        code("import pathlib", "imports"),
        code(
            "runs = pathlib.Path('runs.txt')\n"
            "runs.write_text(runs.read_text() + 'run\\n' if runs.exists() else 'run\\n')\n"
            "count = len(runs.read_text().splitlines())",
            "step:retrain",
        ),
    )


def runs_recorded(folder: Path) -> int:
    path = folder / "runs.txt"
    return len(path.read_text().splitlines()) if path.exists() else 0


def cli_env(**extra: str) -> dict[str, str]:
    """MLflow tracking of pipeline runs off unless a test asks for it (no stray mlflow.db)."""
    return no_tracking_env(**extra)


def cli(*args, cwd: Path, timeout: float = 240, **env: str) -> subprocess.CompletedProcess:
    return run_script("nb2pipe", *args, cwd=cwd, env=cli_env(**env), timeout=timeout)
