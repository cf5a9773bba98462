"""Fixtures: a clean tracking session, the embedded store then a real `mlflow server`."""

from mlopsfixtures import client, embedded_then_server, fresh_session, unique  # noqa: F401
