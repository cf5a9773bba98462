"""Where a run's workspace and its cache are: on this disk, or at a URL (``s3://…``).

The one place that chooses between the local implementations (rundir.py, cache.py) and the
remote ones built on them (remote.py), so neither has to know the other.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..compile.ir import Pipeline
from .cache import StepCache
from .remote import RemoteCache, RemoteWorkspace
from .rundir import Workspace
from .settings import setting
from .storage import Storage


def open_workspace(workspace: str | os.PathLike | None, notebook: Path) -> Workspace:
    """The workspace asked for, else the one in ``[tool.jupyter-mlops]``, else the notebook
    project's. Absolute: run directories are handed to kernels whose working directory is the
    notebook's folder, where a relative path would put the artifacts somewhere else. A URL
    (``s3://…``) is worked on through the project's local workspace."""
    if not workspace:
        workspace = setting(notebook, "workspace")
    if isinstance(workspace, str) and "://" in workspace:
        storage = Storage(workspace)
        storage.check()
        return RemoteWorkspace(Workspace.for_notebook(notebook).root, storage)
    return Workspace(Path(workspace).resolve()) if workspace else Workspace.for_notebook(notebook)


def open_cache(space: Workspace, pipeline: Pipeline, notebook: Path, params: dict) -> StepCache:
    """The cache of `space`: its local index, or the one at its URL."""
    if space.storage is not None:
        return RemoteCache(space, pipeline, notebook, params)
    return StepCache(space, pipeline, notebook, params)
