"""Fixtures: a clean tracking session, the embedded store then a real `mlflow server`."""

from support.mlflow_fixtures import client, embedded_then_server, fresh_session, unique  # noqa: F401
