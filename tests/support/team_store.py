"""A team's tracking store on 127.0.0.1: PostgreSQL, an S3-compatible server (moto) and
`mlflow server --app-name basic-auth` on both; starting each, waiting until it answers,
stopping it and removing what it wrote.

Importable as `teamstore` from any test module (tests/conftest.py puts tests/ on sys.path).
A missing prerequisite (Debian's `postgresql`, `moto[server]`, `psycopg2-binary`, `boto3`) is
`Missing`, which fixtures turn into a skip locally and a failure under CI; a server that is
there but does not start is `servers.NotReady`, always a failure.
"""

from __future__ import annotations

import glob
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from support.servers import (
    HOST,
    free_port,
    http_ok,
    log_tail,
    start_logged,
    stop_process,
    wait_ready,
)

BIN = Path(sys.executable).parent
# How long `mlflow server` may take to answer /health: its first start on an empty PostgreSQL
# database runs every migration (~25 s here, more under load).
HEALTH_TIMEOUT = float(os.environ.get("JUPYTER_MLOPS_TEST_SERVER_TIMEOUT", "120"))
ACCESS_KEY = ("testing", "testing")  # moto accepts any key; the server is the only S3 client


class Missing(RuntimeError):
    """Something the team store needs is not installed here (the message says what)."""


# --- PostgreSQL ------------------------------------------------------------------------------


@dataclass
class Postgres:
    port: int
    data: Path  # a throwaway folder of its own, removed by stop_postgres
    user: str = "mlflow"

    def url(self, database: str) -> str:
        # SQLAlchemy 2.1 reads plain postgresql:// as psycopg 3: name the driver we install.
        return f"postgresql+psycopg2://{self.user}@{HOST}:{self.port}/{database}"

    def connect(self, database: str = "postgres"):
        import psycopg2

        return psycopg2.connect(host=HOST, port=self.port, user=self.user, dbname=database)


def postgres_bin() -> Path:
    """The folder of initdb and pg_ctl (Debian keeps them off PATH, under /usr/lib/postgresql)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    if shutil.which("initdb"):
        return Path(shutil.which("initdb")).parent
    raise Missing("PostgreSQL is not installed: apt-get install postgresql")


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run `command` as the `postgres` user."""
    if os.geteuid() != 0:
        return command
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise Missing(
            "no `postgres` user to run PostgreSQL as: apt-get install postgresql"
        ) from None
    return ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(command)]


def start_postgres(user: str = "mlflow") -> Postgres:
    """A fresh cluster (trust authentication, superuser `user`) listening on 127.0.0.1 only."""
    try:
        import psycopg2  # noqa: F401  (MLflow reaches PostgreSQL through it)
    except ImportError:
        raise Missing("psycopg2 is not installed: pip install psycopg2-binary") from None
    bin_dir = postgres_bin()
    # Not under pytest's tmp_path: its folders are private to root, and the server user must
    # reach its data directory.
    data = Path(tempfile.mkdtemp(prefix="nb2pipe-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres")
    server = Postgres(free_port(), data, user)
    log = data / "server.log"
    steps = [
        [str(bin_dir / "initdb"), "-D", str(data / "db"), "-A", "trust", "-U", server.user],
        [
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data / "db"),
            "-o",
            f"-k {data} -h {HOST} -p {server.port}",  # socket beside the data, TCP on loopback
            "-l",
            str(log),
            "-w",  # wait until it accepts connections
            "start",
        ],
    ]
    for command in steps:
        done = subprocess.run(_as_server_user(command), capture_output=True, text=True)
        if done.returncode != 0:
            stop_postgres(server)
            raise RuntimeError(
                f"{Path(command[0]).name} failed ({done.returncode}):\n"
                f"{done.stdout}{done.stderr}{log_tail(log)}"
            )
    return server


def create_database(server: Postgres, name: str) -> None:
    connection = server.connect()
    try:
        connection.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()


def stop_postgres(server: Postgres) -> None:
    """Stop the cluster (fast shutdown) and remove its folder."""
    pg_ctl = [str(postgres_bin() / "pg_ctl"), "-D", str(server.data / "db"), "-m", "fast", "stop"]
    if (server.data / "db" / "postmaster.pid").exists():
        subprocess.run(_as_server_user(pg_ctl), capture_output=True, timeout=60)
    shutil.rmtree(server.data, ignore_errors=True)


# --- S3 (moto's server mode) -----------------------------------------------------------------


@dataclass
class S3Server:
    url: str
    process: subprocess.Popen
    log: Path

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",  # any other region needs a LocationConstraint
            aws_access_key_id=ACCESS_KEY[0],
            aws_secret_access_key=ACCESS_KEY[1],
        )

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


def start_s3(root: Path, *buckets: str) -> S3Server:
    """`moto_server` on a free port of 127.0.0.1, with `buckets` created."""
    script = BIN / "moto_server"
    if not script.exists():
        raise Missing("moto's server is not installed: pip install 'moto[server]' boto3")
    port = free_port()
    log = root / "moto.log"
    process = start_logged(
        [str(script), "-H", HOST, "-p", str(port)], log, stdin=subprocess.DEVNULL
    )
    server = S3Server(f"http://{HOST}:{port}", process, log)
    try:
        wait_ready(
            process,
            lambda: http_ok(f"{server.url}/moto-api/"),
            timeout=60,
            name="moto_server",
            tail=lambda: log_tail(log),
        )
        for bucket in buckets:
            server.client().create_bucket(Bucket=bucket)
    except BaseException:
        stop_process(process)
        raise
    return server


# --- mlflow server on both -------------------------------------------------------------------


@dataclass
class TeamServer:
    """`mlflow server --app-name basic-auth`: runs and registry in PostgreSQL, artifacts in S3
    behind the server (clients upload and download through it and hold no S3 keys)."""

    url: str
    process: subprocess.Popen
    root: Path
    admin: tuple[str, str]
    bucket: str
    users: dict[str, str] = field(default_factory=dict)

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.root / "server.log", lines)

    def client_env(self, user: str) -> dict[str, str]:
        """This environment pointed at the server as `user`, with no S3 settings at all."""
        password = self.admin[1] if user == self.admin[0] else self.users[user]
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "MLFLOW_")) and k != "NB2PIPE_NO_TRACKING"
        }
        return {
            **env,
            "MLFLOW_TRACKING_URI": self.url,
            "MLFLOW_TRACKING_USERNAME": user,
            "MLFLOW_TRACKING_PASSWORD": password,
        }

    def create_user(self, user: str) -> None:
        """A user with the server's default permission (READ) on all they did not create."""
        from mlflow.server import get_app_client

        password = f"{user}-{uuid.uuid4().hex}"
        saved = {
            k: os.environ.get(k) for k in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
        }
        os.environ.update(
            MLFLOW_TRACKING_USERNAME=self.admin[0], MLFLOW_TRACKING_PASSWORD=self.admin[1]
        )
        try:  # the auth client reads the admin's credentials from the environment only
            get_app_client("basic-auth", tracking_uri=self.url).create_user(user, password)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        self.users[user] = password


def start_team_server(
    root: Path, postgres: Postgres, s3: S3Server, bucket: str, admin: tuple[str, str]
) -> TeamServer:
    """The server with two PostgreSQL databases (tracking + registry, and its users) and
    `--artifacts-destination s3://<bucket>/artifacts`; one worker, once /health answers."""
    try:
        import flask_wtf  # noqa: F401  (mlflow[auth]: the login app needs it)
    except ImportError:
        raise Missing(
            "the basic-auth server needs mlflow's auth extra: pip install 'mlflow[auth]'"
        ) from None
    root.mkdir(parents=True, exist_ok=True)
    create_database(postgres, "mlflow")
    create_database(postgres, "mlflow_auth")
    config = root / "basic_auth.ini"
    config.write_text(
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = {postgres.url('mlflow_auth')}\n"
        f"admin_username = {admin[0]}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": uuid.uuid4().hex,
        "MLFLOW_AUTH_ADMIN_PASSWORD": admin[1],
        "MLFLOW_AUTH_CONFIG_PATH": str(config),
        # Only the server talks to S3: the endpoint and keys are its settings alone.
        "MLFLOW_S3_ENDPOINT_URL": s3.url,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY[0],
        "AWS_SECRET_ACCESS_KEY": ACCESS_KEY[1],
        "AWS_DEFAULT_REGION": "us-east-1",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",  # MLflow 3's GenAI job runner: unused
    }
    port = free_port()
    command = [
        str(BIN / "mlflow"),
        "server",
        "--app-name",
        "basic-auth",
        "--backend-store-uri",
        postgres.url("mlflow"),
        "--artifacts-destination",
        f"s3://{bucket}/artifacts",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    process = start_logged(
        command,
        root / "server.log",
        cwd=root,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,  # its own process group: stopped with its workers
    )
    server = TeamServer(f"http://{HOST}:{port}", process, root, admin, bucket)
    try:
        wait_ready(
            process,
            lambda: http_ok(f"{server.url}/health"),
            timeout=HEALTH_TIMEOUT,
            name="mlflow server",
            tail=server.log_tail,
        )
    except BaseException:
        stop_process(process, group=True)
        raise
    return server
