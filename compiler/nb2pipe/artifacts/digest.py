"""The sha256 of artifact files: computed while a file is written, checked when it is read, and
remembered by the process, so that a file this kernel wrote or checked is not hashed again
while it is unchanged (same inode, size, modification and change times: the change time cannot
be set back by hand).

Standard library only: step kernels import this.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from pathlib import Path

_KNOWN_MAX = 1024  # files remembered per process
_known: dict[str, tuple[int, int, int, int, str]] = {}


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 hex digest of a file (read in C, without holding the GIL)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _stamp(path: Path, sha256: str) -> tuple[int, int, int, int, str]:
    st = os.stat(path)
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, sha256)


def remember(path: Path, sha256: str) -> None:
    """`path` holds bytes whose digest is `sha256` (this process wrote or hashed them)."""
    if len(_known) >= _KNOWN_MAX:
        _known.pop(next(iter(_known)))
    _known[str(path)] = _stamp(path, sha256)


def known(path: Path, sha256: str) -> bool:
    """Whether `path` is a file this process remembered with `sha256`, unchanged since."""
    remembered = _known.get(str(path))
    return remembered is not None and remembered == _stamp(path, sha256)


class HashingFile:
    """A binary file to write that hashes what passes through it on another thread, so the
    digest costs no time of its own when a file is written in big pieces (pyarrow does)."""

    def __init__(self, path: Path):
        self._file = open(path, "wb")  # noqa: SIM115 (closed in close())
        self._digest = hashlib.sha256()
        self._pieces: queue.Queue = queue.Queue(maxsize=16)
        self._hasher = threading.Thread(target=self._hash, daemon=True)
        self._hasher.start()
        self.closed = False

    def _hash(self) -> None:
        while (piece := self._pieces.get()) is not None:
            self._digest.update(piece)

    def write(self, data) -> int:
        piece = bytes(data) if isinstance(data, str) else memoryview(data).cast("B")
        self._pieces.put(piece)  # hashlib and the write both release the GIL on big pieces
        self._file.write(piece)
        return piece.nbytes

    def tell(self) -> int:
        return self._file.tell()

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> str:
        """Close the file; the sha256 hex digest of everything written."""
        if not self.closed:
            self.closed = True
            self._pieces.put(None)
            self._hasher.join()
            self._file.close()
        return self._digest.hexdigest()
