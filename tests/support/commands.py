"""Running the console scripts under test (`nb2pipe`, `papermill`, …) of this very environment.

Importable as `commands` from any test module (tests/conftest.py puts tests/ on sys.path).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# The folder of the interpreter that runs the tests, where its console scripts are.
BIN = Path(sys.executable).parent
NB2PIPE = BIN / "nb2pipe"


def run_script(
    program: str | os.PathLike,
    *args: str | os.PathLike,
    cwd: Path,
    timeout: float,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run a console script of this environment (`python` is the interpreter itself); stdout
    and stderr captured as text. `env` replaces the environment (None: inherit it)."""
    executable = sys.executable if str(program) == "python" else str(BIN / program)
    return subprocess.run(
        [executable, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def no_tracking_env(**extra: str) -> dict[str, str]:
    """This environment with MLflow tracking of pipeline runs off (no stray mlflow.db beside
    the notebooks), plus `extra`."""
    return {**os.environ, "NB2PIPE_NO_TRACKING": "1", **extra}


def error_lines(stderr: str) -> list[str]:
    """The `error: …` lines a CLI printed."""
    return [line for line in stderr.splitlines() if line.startswith("error:")]
