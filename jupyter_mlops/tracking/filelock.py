"""An exclusive lock between processes: `fcntl.flock` on a lock file.

The kernel releases a flock when its holder dies, however it dies, so a killed process never
leaves a stale lock behind, and no pid files need cleaning up. Where `fcntl` does not exist
(Windows) the lock is a no-op, as MLflow's own initialisation lock is there.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None


class LockTimeout(Exception):
    """Another process held the lock for longer than we were willing to wait."""


@contextlib.contextmanager
def locked(path: Path, timeout: float | None = None, poll: float = 0.05) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if needed) for the block.

    `timeout` None waits as long as it takes; 0 tries once. Raises `LockTimeout` when it
    cannot get the lock in time.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            _acquire(fd, path, timeout, poll)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _acquire(fd: int, path: Path, timeout: float | None, poll: float) -> None:
    if timeout is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockTimeout(f"{path} is locked by another process") from None
            time.sleep(poll)
