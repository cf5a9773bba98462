"""Fixtures: a clean tracking session with its own embedded MLflow store."""

from support.mlflow_fixtures import client, embedded_store, fresh_session, unique  # noqa: F401
