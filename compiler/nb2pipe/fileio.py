"""Files written whole or not at all, JSON records, and values made plain for JSON.

Every file nb2pipe writes — step notebooks, artifacts, manifests, run records, cache entries —
goes through `write_atomic`: the bytes go to a temporary file beside the target, are flushed to
disk, and replace the target in one rename, so a reader (or a crash, or a full disk) never sees
half a file. Standard library only: step kernels and container images import this.
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


@functools.cache
def _umask() -> int:
    """The process umask, read once (setting it to read it is not thread-safe later on)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_with(path: Path, write: Callable[[Path], Any], *, durable: bool = True) -> Any:
    """Run `write(tmp)` on a temporary file beside `path`, then rename it over `path`.

    `durable` flushes the file to disk before the rename; files whose readers check a hash
    recorded elsewhere (artifacts) and records rewritten often (status files) may skip it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not tempfile.mkstemp: its 0600 mode would stay on the file and hide it from other users
    # (a container reading the run folder); a plain create honours the umask.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        result = write(tmp)
        if durable:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return result


def write_atomic(path: Path, text: str) -> None:
    """Write `text` (UTF-8, `\\n` line ends) to `path` whole or not at all."""

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)

    write_with(path, write, durable=False)


def sync_folder(directory: Path) -> None:
    """Make the renames inside `directory` durable (POSIX)."""
    if os.name == "posix":
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_json(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=1, sort_keys=True, default=str) + "\n")


def loads(text: str | bytes) -> Any:
    """JSON as we write it: a `ValueError` for bad JSON, and for a key given twice in one
    object, which `json.loads` would silently read as its last value."""
    return json.loads(text, object_pairs_hook=_once_each)


def _once_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise ValueError(f"the key {twice!r} is given twice")
    return out


def read_json(path: Path) -> Any:
    """The JSON at `path`, or None if it is missing or not JSON as we write it (a record being
    replaced is never half-written, so unreadable means: not ours)."""
    try:
        return loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def plain(value: Any) -> Any:
    """`value` as strict JSON data: tuples and sets as lists, numpy scalars unwrapped, NaN and
    infinities as null, paths and anything else as text."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v) for v in value), key=repr)
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        return plain(value.item())
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
