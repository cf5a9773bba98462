"""The root conftest of the tests: its presence is what makes the shared helper modules of this
folder (support/notebooks.py, support/servers.py, support/commands.py) importable from every test folder.

pytest runs in its default "prepend" import mode and no test folder is a package: importing
this file puts tests/ at the front of sys.path, as importing each folder's conftest and test
modules puts that folder there (hence `from runkit import …`). pytest imports the conftest
files of all the folders above a test before the test itself, so this holds for a single test
file run on its own too.
"""


# --- real MLflow servers, started once per test session, only when a test asks -----------------

import uuid  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import pytest  # noqa: E402
from support.mlflow_server import Server, start_server, stop_server  # noqa: E402

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


# --- a Dask cluster and an S3 server on 127.0.0.1 (the distributed runner), when a test asks ---

from support.dask_cluster import s3_env, s3_server, start_cluster, stop_cluster, unavailable  # noqa: E402
from support.servers import NotReady  # noqa: E402
from support.team_store import Missing  # noqa: E402


@pytest.fixture(scope="session")
def s3_session_server(tmp_path_factory: pytest.TempPathFactory):
    """moto's S3 server on 127.0.0.1, started once per session."""
    with s3_server(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture
def s3_store(s3_session_server, monkeypatch):
    """The S3 server, with this test's S3 clients (s3fs, boto3) pointed at it."""
    for key, value in s3_env(s3_session_server).items():
        monkeypatch.setenv(key, value)
    return s3_session_server


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory, s3_session_server):
    """A Dask scheduler and two one-thread workers on 127.0.0.1, which reach the S3 server."""
    import os

    root = tmp_path_factory.mktemp("dask")
    env = {**os.environ, **s3_env(s3_session_server)}
    try:
        cluster = start_cluster(root, env)
    except (Missing, NotReady) as e:
        unavailable(e)
    yield cluster
    stop_cluster(cluster)
