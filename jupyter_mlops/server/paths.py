"""Paths from requests, resolved inside the server's root or refused.

A request names a notebook relative to the server root, as Jupyter's contents API does. An
absolute path, a `..` component or a symlink leading out of the root is refused (403), so a
route can never read, compile or run a file the contents API would not show.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from jupyter_mlops.server.base import ApiError

# Run ids (`20260101-120000-ab12cd`), step names and artifact names: one safe path component.
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_STEP = re.compile(r"[a-z_][a-z0-9_]{0,127}")


class PathRefused(ApiError):
    """A path that would leave the server root."""

    def __init__(self, message: str):
        super().__init__(403, message)


def resolve(root: Path, path: object, *, must_exist: bool = True) -> Path:
    """The real path of `path` (relative to `root`), refused if it lies outside `root`."""
    if not isinstance(path, str) or not path.strip():
        raise ApiError(400, "give the notebook's path, relative to the server root")
    if "\x00" in path:
        raise ApiError(400, "the path contains a NUL byte")
    relative = PurePosixPath(path)
    if relative.is_absolute() or path.startswith("~"):
        raise PathRefused("absolute paths are refused: give a path relative to the server root")
    if ".." in relative.parts:
        raise PathRefused("'..' is refused in paths: give a path inside the server root")
    base = Path(os.path.realpath(root))
    # realpath follows every symlink on the way, so a link pointing out is caught here.
    target = Path(os.path.realpath(base.joinpath(*relative.parts)))
    if target != base and base not in target.parents:
        raise PathRefused(f"{path} resolves outside the server root")
    if must_exist and not target.is_file():
        raise ApiError(404, f"no such notebook: {path}")
    return target


def relative(root: Path, target: str | os.PathLike | None) -> str | None:
    """`target` as a root-relative path the UI can open, or None when it lies outside."""
    if target is None:
        return None
    try:
        return Path(os.path.realpath(target)).relative_to(os.path.realpath(root)).as_posix()
    except ValueError:
        return None


def run_id(value: object, what: str = "run_id") -> str:
    """An nb2pipe run id from a request, checked to be one plain path component."""
    if not isinstance(value, str) or not _RUN_ID.fullmatch(value):
        raise ApiError(400, f"{what}: not a run id: {str(value)[:80]!r}")
    return value


def step_name(value: object) -> str:
    if not isinstance(value, str) or not _STEP.fullmatch(value):
        raise ApiError(400, f"step: not a step name: {str(value)[:80]!r}")
    return value


def artifact_name(value: object) -> str:
    if not isinstance(value, str) or not value.isidentifier():
        raise ApiError(400, f"name: not an artifact name: {str(value)[:80]!r}")
    return value


def workspace_for(root: Path, notebook: Path | None):
    """The `.nb2pipe` workspace of `notebook`'s project (default: the server root's)."""
    from nb2pipe.runner.rundir import Workspace

    return Workspace.for_notebook(notebook if notebook is not None else Path(root) / "_")


def find_run(state, run: object, path: object = None):
    """The `RunDir` of nb2pipe run `run`: one this server started, else one on disk.

    On disk it is looked up in the workspace of notebook `path` (root-relative), or of the
    server root when no path is given.
    """
    from nb2pipe.runner.rundir import RunDir

    name = run_id(run)
    live = state.runs.get(name)
    if live is not None and live.run_dir is not None:
        return RunDir(live.run_dir)
    notebook = resolve(state.root, path) if path else None
    found = workspace_for(state.root, notebook).run(name)
    if found is None:
        where = f"the project of {path}" if path else "the server root's project"
        raise ApiError(404, f"no nb2pipe run {name} in {where}")
    return found
