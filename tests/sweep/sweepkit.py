"""Notebooks for the sweep tests: real kernels, real papermill, scikit-learn models."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from support.commands import error_lines, no_tracking_env, run_script
from support.notebooks import code, markdown, write_notebook

__all__ = ["error_lines"]


def cli(*args: str | os.PathLike, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """The `nb2pipe` console script, MLflow tracking off (tests/tracking has it on)."""
    return run_script("nb2pipe", *args, cwd=cwd, env=no_tracking_env(), timeout=timeout)


# load ──► split ──► linear (C) ──┐
#                └─► tree (max_depth) ──► evaluate (accuracy)
# `n_rows` is read by load only; the grid sweeps C and max_depth.
GRID_STEPS = ("load", "split", "linear", "tree", "evaluate")


def grid_notebook(folder: Path) -> Path:
    return write_notebook(
        folder / "models.ipynb",
        markdown("# Two models, one score"),
        code("n_rows = 400  # rows\nC = 1.0  # regularisation\nmax_depth = 3", "parameters"),
        code(
            "import numpy as np\n"
            "from sklearn.datasets import make_classification\n"
            "from sklearn.linear_model import LogisticRegression\n"
            "from sklearn.tree import DecisionTreeClassifier",
            "imports",
        ),
        code(
            "X, y = make_classification(n_samples=n_rows, n_features=8, random_state=0)",
            "step:load",
        ),
        code(
            "X_train, X_test = X[:300], X[300:]\ny_train, y_test = y[:300], y[300:]", "step:split"
        ),
        code("linear = LogisticRegression(C=C).fit(X_train, y_train)", "step:linear"),
        code(
            "tree = DecisionTreeClassifier(max_depth=max_depth, random_state=0)"
            ".fit(X_train, y_train)",
            "step:tree",
        ),
        code(
            "accuracy = (linear.score(X_test, y_test) + tree.score(X_test, y_test)) / 2\n"
            "print(accuracy)",
            "step:evaluate",
            "metrics",
        ),
    )


def pruning_notebook(folder: Path, epochs: int = 12, pause: float = 0.15) -> Path:
    """A training loop that reports its score each epoch; the best `lr` is 0.3."""
    return write_notebook(
        folder / "loop.ipynb",
        code("lr = 0.5", "parameters"),
        code("import time\nfrom nb2pipe.trial import report", "imports"),
        code(
            "score = 0.0\n"
            f"for epoch in range({epochs}):\n"
            "    score = 1 - abs(lr - 0.3) - 0.5 / (epoch + 1)\n"
            "    report(epoch, score=score)\n"
            f"    time.sleep({pause})",
            "step:train",
            "metrics",
        ),
    )


def statuses(workspace: Path, run_id: str) -> dict[str, str]:
    run = workspace / "runs" / run_id
    info = json.loads((run / "run.json").read_text())
    return {s: json.loads((run / s / "meta.json").read_text())["status"] for s in info["steps"]}


def same_value(a, b) -> bool:
    """Equal values: arrays element by element, estimators by their parameters and fitted
    attributes (their pickles differ in bytes with the strings a kernel happens to share)."""
    import numpy as np

    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.array_equal(a, b)
    if hasattr(a, "get_params") and type(a) is type(b):
        return same_value(vars(a), vars(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is not type(b):
        return False
    if isinstance(a, (int, float, complex, str, bytes, type(None), type)):
        return a == b
    # Anything else (a fitted tree's Cython state): by what it pickles as.
    return same_value(list(a.__reduce_ex__(4)[1:3]), list(b.__reduce_ex__(4)[1:3]))
