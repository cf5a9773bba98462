"""Fixtures of the tests that talk to MLflow (tracking, registry, data, serving, retraining,
magics): a clean tracking session per test and a store to talk to. Each folder's conftest
imports the ones it uses; the shared `mlflow server`s are in tests/conftest.py.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from jupyter_mlops.tracking.session import SESSION

_ENVIRONMENT = (
    "NB2PIPE_STEP",
    "NB2PIPE_RUN_DIR",
    "MLFLOW_EXPERIMENT_NAME",
    "NB2PIPE_NO_TRACKING",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_URI",
)


@pytest.fixture(autouse=True)
def fresh_session(monkeypatch, tmp_path):
    """Each test starts with no open run, no experiment chosen, outside any pipeline step, in
    its own folder (MLflow writes some artifacts relative to the working directory)."""
    monkeypatch.chdir(tmp_path)
    for name in _ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    SESSION.reset()
    yield
    SESSION.reset()


@pytest.fixture(name="tracking_uri")
def embedded_store(tmp_path: Path, monkeypatch) -> str:
    """The embedded SQLite store in tmp_path, for this process and the kernels it starts."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.fixture(
    name="tracking_uri", params=["sqlite", pytest.param("server", marks=pytest.mark.slow)]
)
def embedded_then_server(request, tmp_path: Path, monkeypatch) -> str:
    """The embedded SQLite store in tmp_path, then the shared `mlflow server`."""
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    else:
        uri = request.getfixturevalue("mlflow_server").url
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.fixture
def unique() -> str:
    """A name no other test uses (servers are shared by the whole session)."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def client(tracking_uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
