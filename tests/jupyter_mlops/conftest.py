"""Fixtures: the embedded SQLite store, and real `mlflow server` processes (one per session)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from mlopskit import Server, start_server, stop_server

from jupyter_mlops.tracking.session import SESSION

ADMIN = ("admin", "admin-password-for-tests")
READER = ("reader", "reader-password-for-tests")


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory):
    """A plain tracking server on 127.0.0.1, shared by every test of the session."""
    server = start_server(tmp_path_factory.mktemp("mlflow-server"))
    yield server
    stop_server(server)


@dataclass
class AuthServer:
    server: Server
    admin: tuple[str, str]
    reader: tuple[str, str]

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="session")
def auth_server(tmp_path_factory: pytest.TempPathFactory):
    """A server with `--app-name basic-auth` (default permission READ) and a READ user."""
    try:
        import flask_wtf  # noqa: F401  (mlflow[auth]: the server and its client need it)
    except ImportError:
        pytest.fail("the basic-auth tests need mlflow's auth extra: pip install 'mlflow[auth]'")
    root = tmp_path_factory.mktemp("mlflow-auth-server")
    config = root / "basic_auth.ini"
    config.write_text(
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = sqlite:///{root / 'basic_auth.db'}\n"
        f"admin_username = {ADMIN[0]}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n",
        encoding="utf-8",
    )
    env = {
        "MLFLOW_FLASK_SERVER_SECRET_KEY": uuid.uuid4().hex,
        "MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN[1],
        "MLFLOW_AUTH_CONFIG_PATH": str(config),
    }
    server = start_server(root, "--app-name", "basic-auth", env=env)
    try:
        from mlflow.server import get_app_client

        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("MLFLOW_TRACKING_USERNAME", ADMIN[0])
            mp.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN[1])
            get_app_client("basic-auth", tracking_uri=server.url).create_user(*READER)
        yield AuthServer(server, ADMIN, READER)
    finally:
        stop_server(server)


@pytest.fixture(autouse=True)
def fresh_session(monkeypatch):
    """Each test starts with no open run, no experiment chosen, outside any pipeline step."""
    for name in (
        "NB2PIPE_STEP",
        "NB2PIPE_RUN_DIR",
        "MLFLOW_EXPERIMENT_NAME",
        "NB2PIPE_NO_TRACKING",
    ):
        monkeypatch.delenv(name, raising=False)
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    SESSION.reset()
    yield
    SESSION.reset()


@pytest.fixture(params=["sqlite", pytest.param("server", marks=pytest.mark.slow)])
def tracking_uri(request, tmp_path: Path, monkeypatch) -> str:
    """The embedded SQLite store in tmp_path, then the shared `mlflow server`."""
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    else:
        uri = request.getfixturevalue("mlflow_server").url
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.fixture
def unique() -> str:
    """A name no other test uses (the server is shared by the whole session)."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def client(tracking_uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
