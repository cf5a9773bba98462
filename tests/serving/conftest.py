"""Fixtures: a clean tracking session with its own embedded MLflow store."""

from mlopsfixtures import client, embedded_store, fresh_session, unique  # noqa: F401
