"""A run directory is logged to MLflow exactly once: `--resume`, a re-sync, a sync killed
half-way and an interrupted runner all end with one MLflow run per pipeline run and per step."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.mlflow_server import code, write_notebook

from jupyter_mlops.tracking import sync as runsync
from jupyter_mlops.tracking.observer import MlflowTracker
from nb2pipe.runner import load_pipeline, run_pipeline


def logged(client, experiment: str, run_id: str) -> tuple[list, dict]:
    """The pipeline's MLflow runs (a list, to see duplicates) and its step runs by name."""
    found = client.search_runs(
        [client.get_experiment_by_name(experiment).experiment_id],
        f"tags.`nb2pipe.run_id` = '{run_id}'",
    )
    parents = [r for r in found if "nb2pipe.step" not in r.data.tags]
    steps: dict[str, list] = {}
    for r in found:
        if "nb2pipe.step" in r.data.tags:
            steps.setdefault(r.data.tags["nb2pipe.step"], []).append(r)
    return parents, steps


def flaky_notebook(folder: Path, flag: Path) -> Path:
    """Step `second` fails until the file `flag` exists."""
    return write_notebook(
        folder / "flaky.ipynb",
        code("import pathlib", "imports"),
        code("x = 1", "step:first"),
        code(
            f"assert pathlib.Path({str(flag)!r}).exists(), 'no flag yet'\ny = x + 1", "step:second"
        ),
        code("score = float(y)", "metrics"),
    )


@pytest.mark.slow
def test_resume_continues_the_same_mlflow_runs(tracking_uri, client, unique, tmp_path: Path):
    flag = tmp_path / "flag"
    notebook = flaky_notebook(tmp_path, flag)
    workspace = tmp_path / ".nb2pipe"
    failed = run_pipeline(
        *load_pipeline(notebook), workspace=workspace, observers=[MlflowTracker(experiment=unique)]
    )
    assert failed.status == "failed"
    [parent], steps = logged(client, unique, failed.run_id)
    assert parent.info.status == "FAILED"
    assert "no flag yet" in steps["second"][0].data.tags["nb2pipe.error"]

    flag.touch()
    tracker = MlflowTracker(experiment=unique, detach=False)
    resumed = run_pipeline(
        *load_pipeline(notebook), workspace=workspace, resume=failed.run_id, observers=[tracker]
    )
    assert resumed.ok, resumed.failure()
    assert tracker.mlflow_run_id == parent.info.run_id
    [again], steps = logged(client, unique, failed.run_id)
    assert again.info.run_id == parent.info.run_id and again.info.status == "FINISHED"
    assert again.data.tags["nb2pipe.status"] == "succeeded"
    assert again.data.metrics["score"] == 2.0
    assert {name: len(runs) for name, runs in steps.items()} == {"first": 1, "second": 1}
    second = steps["second"][0]
    assert second.info.status == "FINISHED" and second.data.tags["nb2pipe.status"] == "done"
    assert "nb2pipe.error" not in second.data.tags  # the failed attempt's error is gone

    # Resuming a finished run, and syncing it by hand, log nothing twice either.
    run_pipeline(
        *load_pipeline(notebook),
        workspace=workspace,
        resume=failed.run_id,
        observers=[MlflowTracker(experiment=unique, detach=False)],
    )
    for force in (False, True):
        runsync.sync_run(resumed.run_dir, experiment=unique, force=force)
    parents, steps = logged(client, unique, failed.run_id)
    assert len(parents) == 1 and {n: len(r) for n, r in steps.items()} == {"first": 1, "second": 1}


KILL_WHILE_LOGGING = """
import os, signal, sys
from jupyter_mlops.tracking import runlog
from jupyter_mlops.tracking import sync as runsync

def killed(self, *args, **kwargs):  # the runner dies after the pipeline's run was created
    os.kill(os.getpid(), signal.SIGKILL)

runlog.RunLogger.log_step = killed
runsync.sync_run(sys.argv[1], tracking_uri=sys.argv[2], experiment=sys.argv[3])
"""


@pytest.mark.slow
def test_a_sync_killed_half_way_is_finished_by_the_next_one(
    tracking_uri, client, unique, tmp_path: Path
):
    notebook = write_notebook(
        tmp_path / "two.ipynb", code("x = 1", "step:a"), code("y = x", "step:b")
    )
    workspace = tmp_path / ".nb2pipe"
    first = run_pipeline(*load_pipeline(notebook), workspace=workspace)  # not tracked
    assert first.ok
    killed = subprocess.run(
        [sys.executable, "-c", KILL_WHILE_LOGGING, str(first.run_dir), tracking_uri, unique],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    [orphan], steps = logged(client, unique, first.run_id)
    assert orphan.info.status == "RUNNING" and not steps
    assert (first.run_dir / runsync.PENDING).exists()

    # The next tracked run of the workspace finishes the orphan's logging.
    second = run_pipeline(
        *load_pipeline(notebook),
        workspace=workspace,
        force=True,
        observers=[MlflowTracker(experiment=unique)],
    )
    assert second.ok
    [parent], steps = logged(client, unique, first.run_id)
    assert parent.info.run_id == orphan.info.run_id and parent.info.status == "FINISHED"
    assert {name: len(runs) for name, runs in steps.items()} == {"a": 1, "b": 1}
    assert not (first.run_dir / runsync.PENDING).exists()
    info = json.loads((first.run_dir / "run.json").read_text())
    assert info["mlflow_run_id"] == orphan.info.run_id


def fabricated_run(workspace: Path, status: str, **extra) -> Path:
    """A run directory as a runner leaves it, with step `done` finished and `cut` running."""
    run_dir = workspace / "runs" / f"20260101-000000-{os.urandom(3).hex()}"
    now = time.time()
    for step, step_status in (("done", "done"), ("cut", "running")):
        (run_dir / step).mkdir(parents=True)
        meta = {"status": step_status, "start": now - 5, "end": now - 1, "duration": 4.0}
        (run_dir / step / "meta.json").write_text(json.dumps(meta))
    info = {
        "pipeline": "fabricated",
        "source": str(workspace.parent / "fabricated.ipynb"),
        "params": {},
        "steps": ["done", "cut"],
        "status": status,
        "start": now - 6,
        **extra,
    }
    (run_dir / "run.json").write_text(json.dumps(info))
    return run_dir


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_an_interrupted_run_or_one_whose_runner_is_gone_is_logged_as_killed(
    tracking_uri, client, unique, tmp_path: Path
):
    here = socket.gethostname()
    reused = {"pid": os.getpid(), "host": here, "process_start": 1}  # its pid now another's
    for status, extra in (
        ("interrupted", {}),
        ("running", {"pid": dead_pid(), "host": here}),
        ("running", reused),
    ):
        run_dir = fabricated_run(tmp_path / ".nb2pipe", status, **extra)
        runsync.sync_run(run_dir, experiment=unique)
        [parent], steps = logged(client, unique, run_dir.name)
        assert parent.info.status == "KILLED", status
        assert parent.data.tags["nb2pipe.interrupted"] == "true"
        assert parent.data.tags["nb2pipe.status"] == "interrupted"
        assert steps["done"][0].info.status == "FINISHED"
        assert steps["cut"][0].info.status == "KILLED"
        assert steps["cut"][0].data.tags["nb2pipe.status"] == "interrupted"


def test_a_run_still_going_is_not_logged(tracking_uri, tmp_path: Path):
    alive = fabricated_run(
        tmp_path / ".nb2pipe", "running", pid=os.getpid(), host=socket.gethostname()
    )
    unknown = fabricated_run(tmp_path / ".nb2pipe", "running")
    for run_dir in (alive, unknown):
        with pytest.raises(runsync.RunNotFinished, match="run is not finished"):
            runsync.sync_run(run_dir)
        assert not (run_dir / runsync.PENDING).exists()


def test_a_sync_waits_for_another_sync_of_the_same_run(tracking_uri, tmp_path: Path):
    from jupyter_mlops.tracking.filelock import locked

    run_dir = fabricated_run(tmp_path / ".nb2pipe", "interrupted")
    with locked(run_dir / runsync.LOCK), pytest.raises(runsync.SyncBusy, match="another process"):
        runsync.sync_run(run_dir, wait=0.2)
