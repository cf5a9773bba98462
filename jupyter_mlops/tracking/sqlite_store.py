"""The embedded SQLite store: created by one process at a time, refused in one line if half-made.

MLflow creates a new database's tables the first time a store opens it, with no lock between
processes: three `nb2pipe run` started at once in a new project all found no tables, all
created them, and the losers died with "table ... already exists" — their runs were never
logged, and a migration interrupted half-way left a store that every later sync failed on with
a long traceback. So the first connection of each process to an SQLite store happens under an
exclusive lock on ``<database>.lock`` beside the file, after a look at the schema with the
standard library (no MLflow yet): an empty or missing database is created by MLflow under the
lock, a database at MLflow's current schema revision is used as is, and anything in between is
refused with one line saying what to do.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from jupyter_mlops.errors import TrackingError
from jupyter_mlops.tracking.filelock import locked

PREFIX = "sqlite:///"
LOCK_SUFFIX = ".lock"

_ready: set[str] = set()  # URIs whose store this process has opened under the lock
_guard = threading.Lock()


def database(uri: str) -> Path | None:
    """The database file of an SQLite tracking URI; None for other URIs and in-memory stores."""
    if not uri.startswith(PREFIX):
        return None
    path = uri[len(PREFIX) :].split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path).resolve()


def prepare(uri: str) -> None:
    """Open the store at `uri` once in this process, creating it under the lock if need be.

    A no-op for anything but an SQLite file, and after the first call for a URI.
    """
    db = database(uri)
    if db is None or uri in _ready:
        return
    with _guard:  # the threads of this process queue here, not on the file lock
        if uri in _ready:
            return
        with locked(db.with_name(db.name + LOCK_SUFFIX)):
            check_schema(db, uri)
            _open(uri)
        _ready.add(uri)


def check_schema(db: Path, uri: str) -> None:
    """Refuse, in one line, a database that is neither empty nor at MLflow's current schema."""
    tables, revision = _schema(db)
    if not tables - {"alembic_version"}:
        return  # new or empty: MLflow creates it, under our lock
    head = _head_revision()
    if head is None or revision == head:
        return
    upgrade = f"`mlflow db upgrade {uri}`"
    if revision is None:
        raise TrackingError(
            f"{db}: half-created MLflow store (tables but no schema version: its creation was "
            f"interrupted); delete it if it holds no runs you need, else back it up and run "
            f"{upgrade}"
        )
    raise TrackingError(
        f"{db}: MLflow store at schema revision {revision}, but MLflow {_mlflow_version()} "
        f"needs {head} (a migration was interrupted, or another MLflow version made it); back "
        f"it up, then run {upgrade}"
    )


def _schema(db: Path) -> tuple[set[str], str | None]:
    """The table names and the alembic revision of `db`, read without creating anything."""
    if not db.exists() or db.stat().st_size == 0:
        return set(), None
    try:
        connection = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as e:
        raise TrackingError(f"{db}: cannot open the MLflow store: {e}") from None
    try:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        tables = {name for (name,) in rows}
        revision = None
        if "alembic_version" in tables:
            found = connection.execute("SELECT version_num FROM alembic_version").fetchall()
            revision = found[0][0] if len(found) == 1 else None
        return tables, revision
    except sqlite3.DatabaseError as e:
        raise TrackingError(f"{db}: not an MLflow store ({e})") from None
    finally:
        connection.close()


def _head_revision() -> str | None:
    """The schema revision this MLflow writes (None if MLflow no longer says: skip the check)."""
    try:
        from mlflow.store.db.utils import _get_latest_schema_revision

        return _get_latest_schema_revision()
    except Exception:
        return None


def _mlflow_version() -> str:
    import mlflow

    return mlflow.__version__


def _open(uri: str) -> None:
    """Let MLflow open (and, for a new file, create) the store; it is cached per process."""
    from mlflow.tracking import MlflowClient

    MlflowClient(tracking_uri=uri, registry_uri=uri).search_experiments(max_results=1)
