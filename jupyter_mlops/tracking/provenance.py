"""Who ran what, from which code: git commit and dirty flag, user, host, versions."""

from __future__ import annotations

import getpass
import os
import platform
import socket
import subprocess
from pathlib import Path


def git_state(folder: str | os.PathLike) -> dict[str, object]:
    """``{"commit": sha or None, "dirty": bool or None}`` of the repository holding `folder`."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(folder), *args],
                capture_output=True,
                text=True,
                timeout=10,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    # Untracked files do not change what ran; modified tracked files do.
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


def collect(folder: str | os.PathLike) -> dict[str, object]:
    """Everything a run records about where it came from."""
    from nb2pipe import __version__ as nb2pipe_version

    git = git_state(Path(folder))
    return {
        "git_commit": git["commit"],
        "git_dirty": git["dirty"],
        "user": user(),
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "nb2pipe": nb2pipe_version,
    }
