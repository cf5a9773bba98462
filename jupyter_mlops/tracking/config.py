"""Where tracking goes: the tracking URI and the experiment name, resolved the same way everywhere.

Tracking URI, first found wins:
1. the environment variable ``MLFLOW_TRACKING_URI`` (a shared ``mlflow server``);
2. ``tracking_uri`` in the ``[tool.jupyter-mlops]`` table of the nearest pyproject.toml;
3. the embedded store ``sqlite:///<project root>/mlflow.db``.

The project root is the nearest folder holding pyproject.toml or .git (as for `.nb2pipe/`).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

TABLE = "jupyter-mlops"
DB_FILE = "mlflow.db"
ARTIFACTS_DIR = "mlartifacts"


def project_root(start: str | os.PathLike | None = None) -> Path:
    """The project folder of `start` (a folder or a file; default: the working directory)."""
    # Imported here: the runner package costs ~0.1 s, too much for `%load_ext`.
    from nb2pipe.runner.rundir import project_root as root_of_file

    path = Path(start) if start is not None else Path.cwd()
    # rundir.project_root takes a file and searches from its folder.
    return root_of_file(path / "_" if path.is_dir() else path)


def settings(start: str | os.PathLike | None = None) -> tuple[dict[str, Any], Path | None]:
    """The `[tool.jupyter-mlops]` table of the nearest pyproject.toml, and that file's folder."""
    path = Path(start) if start is not None else Path.cwd()
    folder = (path if path.is_dir() else path.parent).resolve()
    for candidate in (folder, *folder.parents):
        file = candidate / "pyproject.toml"
        if file.is_file():
            try:
                data = tomllib.loads(file.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError):
                return {}, candidate
            return data.get("tool", {}).get(TABLE, {}), candidate
        if (candidate / ".git").exists():
            break
    return {}, None


def tracking_uri(start: str | os.PathLike | None = None) -> str:
    """The MLflow tracking (and registry) URI for work started in `start`."""
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    table, folder = settings(start)
    configured = table.get("tracking_uri")
    if configured and folder is not None:
        return _anchor_sqlite(str(configured), folder)
    return embedded_uri(project_root(start))


def embedded_uri(root: Path) -> str:
    return f"sqlite:///{(root / DB_FILE).resolve()}"


def _anchor_sqlite(uri: str, folder: Path) -> str:
    """A relative SQLite path in pyproject.toml means relative to that file, not to the cwd."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri[len(prefix) :].startswith("/"):
        return f"{prefix}{(folder / uri[len(prefix) :]).resolve()}"
    return uri


def experiment_name(default: str | None = None, start: str | os.PathLike | None = None) -> str:
    """``MLFLOW_EXPERIMENT_NAME`` > ``[tool.jupyter-mlops] experiment`` > `default` > "Default"."""
    env = os.environ.get("MLFLOW_EXPERIMENT_NAME")
    if env:
        return env
    configured = settings(start)[0].get("experiment")
    return str(configured or default or "Default")


def sqlite_artifact_root(uri: str) -> str | None:
    """Where an embedded store keeps artifacts: `mlartifacts/` next to the database file.

    MLflow's own default (`./mlruns`) is relative to whichever process creates the experiment,
    so a kernel and a runner in different folders would scatter artifacts.
    """
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return None
    db = Path(uri[len(prefix) :])
    return (db.parent / ARTIFACTS_DIR).resolve().as_uri()
