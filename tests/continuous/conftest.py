"""Fixtures: each test outside any pipeline step, with its own embedded MLflow store."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from jupyter_mlops.tracking.session import SESSION


@pytest.fixture(autouse=True)
def fresh_session(monkeypatch, tmp_path):
    # MLflow writes some artifacts relative to the working directory: keep them in tmp_path.
    monkeypatch.chdir(tmp_path)
    for name in (
        "NB2PIPE_STEP",
        "NB2PIPE_RUN_DIR",
        "MLFLOW_EXPERIMENT_NAME",
        "NB2PIPE_NO_TRACKING",
        "MLFLOW_TRACKING_USERNAME",
        "MLFLOW_TRACKING_PASSWORD",
        "MLFLOW_TRACKING_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    SESSION.reset()
    yield
    SESSION.reset()


@pytest.fixture
def tracking_uri(tmp_path: Path, monkeypatch) -> str:
    """The embedded SQLite store in tmp_path, for this process and the kernels it starts."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.fixture
def unique() -> str:
    return f"t{uuid.uuid4().hex[:10]}"
