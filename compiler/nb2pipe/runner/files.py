"""Content hashes of the files a step reads: data files and the local modules it imports.

A file is hashed by content (sha256). Hashes are remembered in the workspace keyed by size,
modification time, inode and device, so an unchanged 1 GB data file is not read again on every
run; any change of those re-hashes it. A folder is hashed through its files (up to a bound).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from pathlib import Path

ABSENT = "absent"
MAX_FOLDER_FILES = 2000
_CHUNK = 1 << 20


class FileHashes:
    def __init__(self, cache_file: Path | None, root: Path):
        self.cache_file = cache_file
        self.root = root
        self._known: dict[str, list] | None = None
        self._dirty = False

    def digest(self, name: str) -> str:
        """The content hash of the file or folder `name` (relative to the notebook's folder)."""
        path = self.root / name
        try:
            if path.is_dir():
                return self._folder(path)
            return self._file(path)
        except OSError:
            return ABSENT

    def size(self, name: str) -> int | None:
        """The size in bytes of the file (or the files of the folder) `name`; None if gone."""
        path = self.root / name
        try:
            if path.is_dir():
                return sum(
                    (Path(folder) / f).stat().st_size
                    for folder, _, files in os.walk(path)
                    for f in files
                )
            return path.stat().st_size
        except OSError:
            return None

    def _file(self, path: Path) -> str:
        st = path.stat()
        key = [st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev]
        known = self._load()
        entry = known.get(str(path))
        if entry and entry[:4] == key:
            return entry[4]
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
        known[str(path)] = [*key, digest.hexdigest()]
        self._dirty = True
        return digest.hexdigest()

    def _folder(self, path: Path) -> str:
        digest = hashlib.sha256()
        count = 0
        for folder, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                count += 1
                if count > MAX_FOLDER_FILES:
                    return f"folder-too-large:{count}"
                item = Path(folder) / name
                digest.update(f"{item.relative_to(path)}\0{self._file(item)}\0".encode())
        return "folder:" + digest.hexdigest()

    def _load(self) -> dict[str, list]:
        if self._known is None:
            self._known = {}
            if self.cache_file is not None:
                try:
                    self._known = json.loads(self.cache_file.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    self._known = {}
                if not isinstance(self._known, dict):
                    self._known = {}
        return self._known

    def save(self) -> None:
        if self._dirty and self.cache_file is not None and self._known is not None:
            from ..fileio import write_atomic

            try:
                write_atomic(self.cache_file, json.dumps(self._known))
            except OSError:
                pass  # only a shortcut: the next run hashes again
            self._dirty = False


def local_modules(root: Path, modules: list[str], limit: int = 200) -> list[str]:
    """The source files (relative to `root`) of the modules, imported by name, that live in
    the project rather than in site-packages — and of the local modules they import."""
    found: list[str] = []
    todo = list(modules)
    seen: set[str] = set()
    while todo and len(found) < limit:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        files: list[Path] = []
        if (root / f"{module}.py").is_file():
            files = [root / f"{module}.py"]
        elif (root / module / "__init__.py").is_file():
            files = sorted((root / module).rglob("*.py"))[:limit]
        for file in files:
            found.append(file.relative_to(root).as_posix())
            todo += _imported(file)
    return sorted(set(found))


def _imported(file: Path) -> list[str]:
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError, MemoryError, RecursionError):
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module.split(".")[0])
    return names
