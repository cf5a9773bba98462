"""Helpers of the continuous-training tests: small notebooks, synthetic data, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

# The console script of the same environment that runs the tests.
NB2PIPE = Path(sys.executable).with_name("nb2pipe")
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example_notebooks" / "continuous_training.ipynb"


def code(source: str, *tags: str) -> dict:
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {"tags": list(tags)} if tags else {},
        "outputs": [],
        "source": source,
    }


def write_notebook(path: Path, *cells: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "cells": list(cells),
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


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
    return {**os.environ, "NB2PIPE_NO_TRACKING": "1", **extra}


def cli(*args, cwd: Path, timeout: float = 240, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(NB2PIPE), *map(str, args)],
        cwd=cwd,
        env=cli_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]
