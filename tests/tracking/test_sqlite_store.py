"""The embedded SQLite store: made by one process at a time; a half-made one refused in one line.

Three `nb2pipe run` started at once in a project without mlflow.db used to race to create its
tables: the losers' runs were never logged, and a migration cut short left a store that failed
every later sync with a long traceback.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.commands import NB2PIPE
from support.mlflow_server import code, wait_for, write_notebook

from jupyter_mlops.errors import TrackingError
from jupyter_mlops.tracking import sqlite_store, store

TRIALS = 5
AT_ONCE = 3


def tiny_notebook(folder: Path) -> Path:
    return write_notebook(folder / "tiny.ipynb", code("x = 1", "step:only"))


def tracked_env() -> dict[str, str]:
    """This environment with tracking on and going to the project's own mlflow.db."""
    env = dict(os.environ)
    for name in ("NB2PIPE_NO_TRACKING", "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME"):
        env.pop(name, None)
    return env


def logged_runs(db: Path) -> list[tuple[str, str, str]]:
    """(nb2pipe run id, step or "", status) of every MLflow run in the store."""
    with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as connection:
        rows = connection.execute(
            "SELECT r.run_uuid, r.status, t.value FROM runs r "
            "JOIN tags t ON t.run_uuid = r.run_uuid AND t.key = 'nb2pipe.run_id'"
        ).fetchall()
        steps = dict(
            connection.execute("SELECT run_uuid, value FROM tags WHERE key = 'nb2pipe.step'")
        )
    return sorted((run_id, steps.get(uuid, ""), status) for uuid, status, run_id in rows)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_concurrent_runs_in_a_new_project_are_all_logged(tmp_path: Path):
    """Five times: a new project, three `nb2pipe run` at once, three pipeline runs logged.

    The first trial executes the step (each runner logs its run itself); the later ones find
    it in the shared cache, so each run is logged by a detached sync process: both ways race
    to create the store.
    """
    workspace = tmp_path / "workspace"
    logged_trials = 0
    for trial in range(TRIALS):
        project = tmp_path / f"project-{trial}"
        project.mkdir()
        (project / "pyproject.toml").write_text('[project]\nname = "p"\n')
        notebook = tiny_notebook(project)
        processes = [
            subprocess.Popen(
                [str(NB2PIPE), "run", str(notebook), "--workspace", str(workspace)],
                cwd=project,
                env=tracked_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(AT_ONCE)
        ]
        outputs = [p.communicate(timeout=300) for p in processes]
        for process, (out, err) in zip(processes, outputs, strict=True):
            assert process.returncode == 0, (trial, out, err)
            assert "not tracked" not in err, (trial, err)
        run_dirs = [
            workspace / "runs" / re.findall(r"^run (\S+) ", out, re.M)[-1] for out, _ in outputs
        ]
        ids = [
            wait_for(lambda d=d: json.loads((d / "run.json").read_text()).get("mlflow_run_id"), 180)
            for d in run_dirs
        ]
        assert len(set(ids)) == AT_ONCE
        runs = logged_runs(project / "mlflow.db")
        expected = sorted((d.name, step, "FINISHED") for d in run_dirs for step in ("", "only"))
        assert runs == expected, (trial, runs, [_log(d) for d in run_dirs])
        logged_trials += 1
    assert logged_trials == TRIALS


def _log(run_dir: Path) -> str:
    path = run_dir / "tracking.log"
    return path.read_text(errors="replace") if path.exists() else ""


def finished_run(workspace: Path, notebook: Path) -> Path:
    """A finished (succeeded) run directory without any step: nothing to execute."""
    run_dir = workspace / "runs" / "20260101-000000-abcdef"
    run_dir.mkdir(parents=True)
    now = time.time()
    info = {
        "pipeline": "tiny",
        "source": str(notebook),
        "params": {},
        "steps": [],
        "status": "succeeded",
        "start": now - 1,
        "end": now,
        "duration": 1.0,
    }
    (run_dir / "run.json").write_text(json.dumps(info))
    return run_dir


def sync_cli(run_dir: Path, uri: str) -> subprocess.CompletedProcess:
    env = {**tracked_env(), "MLFLOW_TRACKING_URI": uri}
    return subprocess.run(
        [sys.executable, "-m", "jupyter_mlops.tracking.observer", "sync", str(run_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )


@pytest.fixture
def half_created(tmp_path: Path) -> Path:
    """A store whose creation was cut short: tables, but no schema version."""
    db = tmp_path / "mlflow.db"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY)")
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    return db


def test_a_half_created_store_is_refused_in_one_line(tmp_path: Path, half_created: Path):
    uri = f"sqlite:///{half_created}"
    with pytest.raises(TrackingError) as caught:
        store.client(uri)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{half_created}: half-created MLflow store")
    assert f"mlflow db upgrade {uri}" in message

    run_dir = finished_run(tmp_path / ".nb2pipe", tiny_notebook(tmp_path))
    done = sync_cli(run_dir, uri)
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: {half_created}: half-created MLflow store")
    assert "mlflow_run_id" not in json.loads((run_dir / "run.json").read_text())


def test_a_store_at_another_schema_revision_is_refused_in_one_line(tmp_path: Path):
    db = tmp_path / "mlflow.db"
    uri = f"sqlite:///{db}"
    store.client(uri)  # a complete store, at MLflow's current revision
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'a1b2c3d4e5f6'")
    run_dir = finished_run(tmp_path / ".nb2pipe", tiny_notebook(tmp_path))
    done = sync_cli(run_dir, uri)
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert f"{db}: MLflow store at schema revision a1b2c3d4e5f6, but MLflow" in line
    assert f"mlflow db upgrade {uri}" in line


def test_a_new_store_is_created_under_a_lock_beside_it(tmp_path: Path):
    db = tmp_path / "sub" / "mlflow.db"
    uri = f"sqlite:///{db}"
    client = store.client(uri)
    assert client.search_experiments()  # the Default experiment: the schema is complete
    assert (tmp_path / "sub" / "mlflow.db.lock").exists()
    assert sqlite_store.database(uri) == db
    assert sqlite_store.database("http://127.0.0.1:5000") is None
    assert sqlite_store.database("sqlite:///:memory:") is None
