"""Apache Airflow for the tests: its own virtual environment and a throwaway AIRFLOW_HOME.

Airflow's pins clash with ours, so it is installed apart by tests/exports/setup_airflow.sh
(`.cache/airflow-venv`, from requirements/airflow.lock). Without it the Airflow tests skip
locally and fail under CI. The DAG's tasks run the step notebooks with this environment's
interpreter (NB2PIPE_PYTHON), as a deployment's workers run them with theirs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from support.notebooks import ROOT
from support.servers import unavailable

VENV = Path(os.environ.get("NB2PIPE_AIRFLOW_VENV", ROOT / ".cache" / "airflow-venv"))
SETUP = "tests/exports/setup_airflow.sh"


def airflow_command() -> Path:
    """The `airflow` script of Airflow's venv; skip (fail under CI) when it is not installed."""
    airflow = VENV / "bin" / "airflow"
    if not airflow.is_file():
        message = f"Apache Airflow is not installed in {VENV}: run {SETUP}"
        unavailable(message)
    return airflow


@dataclass
class Airflow:
    """An AIRFLOW_HOME with a migrated SQLite database, and the folder DAG runs write into."""

    command: Path
    home: Path
    runs: Path

    def env(self, dags: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__"))}
        env.pop("VIRTUAL_ENV", None)
        return {
            **env,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            "NB2PIPE_PYTHON": sys.executable,  # this environment runs the step notebooks
            "NB2PIPE_RUNS": str(self.runs),
            "NB2PIPE_NO_TRACKING": "1",
        }

    def run(
        self, *args: str, dags: Path, timeout: float = 600, **env: str
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.command), *args],
            env={**self.env(dags), **env},
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def dags_test(self, dag_file: Path, dag_id: str, conf: dict | None = None) -> Path:
        """`airflow dags test` of the DAG in `dag_file`; the run folder its steps wrote."""
        before = set(self.runs.iterdir()) if self.runs.exists() else set()
        args = ["dags", "test", dag_id, "--dagfile-path", str(dag_file)]
        if conf is not None:
            args += ["--conf", json.dumps(conf)]
        done = self.run(*args, dags=dag_file.parent)
        assert done.returncode == 0, (
            f"airflow dags test failed:\n{(done.stdout + done.stderr)[-6000:]}"
        )
        (run,) = set(self.runs.iterdir()) - before
        return run


def start_airflow(root: Path) -> Airflow:
    """A fresh AIRFLOW_HOME under `root`, its SQLite database migrated (~8 s)."""
    airflow = Airflow(airflow_command(), root / "home", root / "runs")
    airflow.home.mkdir(parents=True)
    done = airflow.run("db", "migrate", dags=root / "dags")
    assert done.returncode == 0, f"airflow db migrate failed:\n{done.stderr[-4000:]}"
    return airflow
