"""Fixtures: the team's tracking store, each server started once per test session."""

from __future__ import annotations

import os

import pytest
from support.servers import NotReady
from support.team_store import (
    Missing,
    start_postgres,
    start_s3,
    start_team_server,
    stop_postgres,
    stop_process,
)

ADMIN = ("admin", "admin-password-for-tests")
BUCKET = "mlflow-team"


def _unavailable(problem: Exception):
    """A missing prerequisite skips locally and fails under CI; a failed start always fails."""
    if isinstance(problem, Missing) and not os.environ.get("CI"):
        pytest.skip(f"{problem} (this test needs the team's tracking store)")
    pytest.fail(f"the team's tracking store could not start: {problem}", pytrace=False)


@pytest.fixture(scope="session")
def postgres():
    try:
        server = start_postgres()
    except (Missing, RuntimeError) as e:
        _unavailable(e)
    yield server
    stop_postgres(server)


@pytest.fixture(scope="session")
def s3(tmp_path_factory):
    try:
        server = start_s3(tmp_path_factory.mktemp("s3"), BUCKET)
    except (Missing, NotReady) as e:
        _unavailable(e)
    yield server
    stop_process(server.process)


@pytest.fixture(scope="session")
def team_server(tmp_path_factory, postgres, s3):
    """`mlflow server --app-name basic-auth` on PostgreSQL and S3, with users `ci` (creates
    its own experiments and models) and `reader` (READ, the default permission)."""
    try:
        server = start_team_server(tmp_path_factory.mktemp("team"), postgres, s3, BUCKET, ADMIN)
    except (Missing, NotReady) as e:
        _unavailable(e)
    try:
        server.create_user("ci")
        server.create_user("reader")
        yield server
    finally:
        stop_process(server.process, group=True)
