"""A real Jupyter server with the extension, on 127.0.0.1, for the whole test session.

Its root is a temporary folder holding a small tagged notebook; its tracking store is a SQLite
file in the session's temporary folder, prepared (and filled with 120 runs for the paging
tests) before the server starts, so that only one process writes it at a time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from serverkit import (
    PAGING_EXPERIMENT,
    PAGING_NESTED_PARENTS,
    PAGING_RUNS,
    PAGING_STEPS,
    Server,
    jupyter_server,
)


@pytest.fixture(scope="session")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite store, created and holding 120 runs before the server starts."""
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    folder = tmp_path_factory.mktemp("store")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment(
        PAGING_EXPERIMENT, artifact_location=(folder / "artifacts").as_uri()
    )
    now = int(time.time() * 1000)
    for i in range(PAGING_RUNS):
        run = client.create_run(
            experiment,
            start_time=now + i,
            run_name=f"run-{i:03d}",
            tags={"nb2pipe.kind": "pipeline"},
        )
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("acc", i / PAGING_RUNS, now + i, 0)],
            params=[Param("i", str(i))],
        )
        client.set_terminated(run.info.run_id, "FINISHED", end_time=now + i + 1000)
        if i < PAGING_NESTED_PARENTS:  # step runs the pipeline paging must not count
            for step in range(PAGING_STEPS):
                client.create_run(
                    experiment,
                    start_time=now + i,
                    run_name=f"step-{step}",
                    tags={"nb2pipe.step": f"step-{step}", "mlflow.parentRunId": run.info.run_id},
                )
    client.create_run(experiment, run_name="publish wine")  # an old top-level publish run
    return uri


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, tracking_uri: str):
    # Hidden files served, as `make lab` does: runs live under .nb2pipe/, and the server must
    # still refuse to save into them.
    options = ["--ContentsManager.allow_hidden=True"]
    with jupyter_server(tmp_path_factory, tracking_uri, *options) as running:
        yield running


@dataclass
class Runs:
    """Two finished pipeline runs: `base` (shift 0) and `shifted` (shift 3)."""

    base: dict
    shifted: dict


@pytest.fixture(scope="session")
def runs(server: Server) -> Runs:
    finished = []
    for params in ({}, {"shift": "3"}):  # a string, coerced like `nb2pipe run -p shift 3`
        answer = server.post("runs", {"path": "pipe.ipynb", "params": params})
        assert answer.status_code == 202, answer.text
        status = server.wait_run(answer.json()["run_id"])
        assert status["status"] == "succeeded", (status, server.log_tail())
        finished.append(status)
    return Runs(*finished)
