"""Tiny notebooks for the `nb2pipe test` tests (no scikit-learn: each runs in a few seconds)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from support.commands import run_script
from support.notebooks import code, markdown, write_notebook

__all__ = ["code", "markdown", "write_notebook"]


def stdout(text: str) -> dict:
    return {"name": "stdout", "output_type": "stream", "text": text}


def result(text: str) -> dict:
    return {
        "data": {"text/plain": text},
        "execution_count": 1,
        "metadata": {},
        "output_type": "execute_result",
    }


# --- the notebooks ---------------------------------------------------------------------------
#
# passing.ipynb    n = 3, but its `ci` profile says n = 4; two steps; two assertions.
#   cell 3 (make)    tagged nbval-check-output, stored "[0, 1, 2, 3]": right only with n = 4
#   cell 4 (report)  tagged, prints a timestamp and an address that differ on every run
#   cell 5 (report)  NOT tagged, stored output that no longer matches: lax ignores it
#   cell 6           metrics: total = 6.0, count = 4


def passing_notebook(folder: Path, name: str = "passing.ipynb") -> Path:
    return write_notebook(
        folder / name,
        code("n = 3  # rows", "parameters"),
        code("import datetime", "imports"),
        code(
            "values = list(range(n))\nprint(values)",
            "step:make",
            "nbval-check-output",
            outputs=[stdout("[0, 1, 2, 3]\n")],
        ),
        code(
            "print(datetime.datetime.now(), object())",
            "step:report",
            "nbval-check-output",
            outputs=[stdout("2024-01-02 03:04:05.123456 <object object at 0x7f3a2b1c0d20>\n")],
        ),
        code("print('rows:', len(values))", outputs=[stdout("rows: 99\n")]),
        code("total = float(sum(values))\ncount = len(values)", "metrics"),
        nb2pipe={
            "profiles": {"ci": {"n": 4}},
            "assertions": ["total >= 6", "count == 4 and total < 100"],
        },
    )


def error_notebook(folder: Path) -> Path:
    """Step `divide` fails in source cell 3, so step `report` after it is skipped."""
    return write_notebook(
        folder / "error.ipynb",
        code("x = 1", "step:load"),
        markdown("Dividing by zero, on purpose."),
        code("y = x / 0", "step:divide"),
        code("z = y + 1", "step:report"),
    )


def assertion_notebook(folder: Path) -> Path:
    """Runs fine, but the assertion on its metrics cell (cell 2) does not hold."""
    return write_notebook(
        folder / "assertion.ipynb",
        code("values = [1, 2, 3]", "step:make"),
        code(
            "total = float(sum(values))",
            "metrics",
            meta={"nb2pipe": {"assertions": ["total > 100"]}},
        ),
    )


def drift_notebook(folder: Path) -> Path:
    """Cell 1 is tagged nbval-check-output and its stored output is stale: fails in lax mode."""
    return write_notebook(
        folder / "drift.ipynb",
        code(
            "answer = 6 * 7\nanswer",
            "step:compute",
            "nbval-check-output",
            outputs=[result("41")],
        ),
    )


# --- running the CLI -------------------------------------------------------------------------


def run(
    *args: str | os.PathLike, cwd: Path, env: dict | None = None, timeout: float = 240
) -> subprocess.CompletedProcess:
    """Run a console script of this environment (`nb2pipe`, `papermill`) or `python -m …`."""
    program, *rest = args
    env = {**os.environ, **(env or {})}
    return run_script(program, *rest, cwd=cwd, env=env, timeout=timeout)


def nb2pipe(*args: str | os.PathLike, cwd: Path, env: dict | None = None):
    return run("nb2pipe", *args, cwd=cwd, env=env)


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]
