"""A step's fingerprint: the hash of everything that determines its outputs.

Its normalised code (comments, formatting and markdown ignored; the shared imports and helpers
and the statements replayed from earlier steps included), the values of the parameters it uses,
the hashes of its input artifacts, the files it reads and the local modules it imports (by
content), and its environment (Python version and the versions of the distributions it
imports). Same fingerprint → same outputs → reuse them. cache.py decides with it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..compile.analysis import to_python
from ..compile.ir import Cell, Pipeline, Step

# Bump when the generated load/save cells change meaning, so old results are not reused.
RUNTIME_VERSION = 2


def normalised_code(cells: list[Cell]) -> str:
    """The code as the interpreter sees it: `ast.unparse` drops comments and layout."""
    out = []
    for cell in cells:
        if cell.kind != "code":
            continue
        code = to_python(cell.source)
        try:
            out.append(ast.unparse(ast.parse(code)))
        except SyntaxError:
            out.append(code)
    return "\n".join(out)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Parts:
    """The inputs of a fingerprint, kept in meta.json so `status` can say what changed."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)  # "producer.name" -> sha256
    env: str = ""
    files: dict[str, str] = field(default_factory=dict)  # path read / local module -> sha256

    def fingerprint(self) -> str:
        payload = json.dumps(
            {
                "code": self.code,
                "params": self.params,
                "inputs": self.inputs,
                "env": self.env,
                "files": self.files,
                "runtime": RUNTIME_VERSION,
            },
            sort_keys=True,
            default=repr,
        )
        return _sha(payload)

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "params": self.params,
            "inputs": self.inputs,
            "env": self.env,
            "files": self.files,
        }


def parts_for(
    pipeline: Pipeline,
    step: Step,
    params: dict[str, Any],
    input_hashes: dict[str, str],
    env: Environment,
    files: dict[str, str] | None = None,
) -> Parts:
    code = normalised_code(pipeline.imports + pipeline.functions + step.replay + step.cells)
    if step.random_from or step.random_state:  # the load/save cells change meaning
        code += f"\n# random state from {step.random_from}"
    serve = pipeline.serve
    if serve is not None and serve.step == step.name:  # it keeps what the serve cells use
        code += f"\n# serve {serve.input} {serve.values} -> {serve.output}"
    used = {name: _jsonable(params[name]) for name in step.params}
    return Parts(
        _sha(code),
        used,
        dict(sorted(input_hashes.items())),
        env.hash(step.imports),
        dict(sorted((files or {}).items())),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, tuple):
        return list(value)
    return value


GONE = "its earlier results are gone"


def reasons(
    current: Parts, previous: dict | None, *, cache: bool = True, since: str | None = None
) -> list[str]:
    """Why a step would run, given the fingerprint parts of its last finished run (`since`:
    that run's id, named where a file changed)."""
    if not cache:
        return ["cache off for this step"]
    if previous is None:
        return ["never ran"]
    out = []
    if previous.get("code") != current.code:
        out.append("code changed")
    for name, value in current.params.items():
        if previous.get("params", {}).get(name) != value:
            out.append(f"parameter {name} changed")
    old_inputs = previous.get("inputs", {})
    for key, digest in current.inputs.items():
        if old_inputs.get(key) != digest:
            out.append(f"upstream changed ({key})")
    old_files = previous.get("files", {})
    for path, digest in current.files.items():
        if path not in old_files:
            out.append(f"reads {path}, which it did not before")
        elif old_files[path] != digest:
            kind = "module" if path.endswith(".py") else "file"
            out.append(f"{kind} {path} changed" + (f" since run {since}" if since else ""))
    if previous.get("env") != current.env:
        out.append("environment changed")
    return out or [GONE]


class Environment:
    """Python version and installed versions of imported modules' distributions.

    Mapping modules to distributions scans every installed package (~0.2 s), so the mapping is
    cached in the workspace, keyed by the mtimes of the site-packages folders (an install or
    uninstall changes them).
    """

    def __init__(self, cache_file: Path | None = None):
        self.cache_file = cache_file
        self._mapping: dict[str, list[str]] | None = None
        self._versions: dict[str, str] = {}

    def hash(self, modules: list[str]) -> str:
        packages = {m: self.version(m) for m in sorted(modules)}
        python = ".".join(map(str, sys.version_info[:3]))
        return _sha(json.dumps({"python": python, "packages": packages}, sort_keys=True))

    def version(self, module: str) -> str | None:
        if module in sys.stdlib_module_names:
            return "stdlib"
        if module not in self._versions:
            from importlib import metadata

            dists = self._distributions().get(module, [])
            versions = []
            for dist in sorted(dists):
                try:
                    versions.append(f"{dist}=={metadata.version(dist)}")
                except metadata.PackageNotFoundError:
                    pass
            self._versions[module] = ",".join(versions) or None
        return self._versions[module]

    def distributions(self, module: str) -> list[str]:
        return sorted(self._distributions().get(module, []))

    def _distributions(self) -> dict[str, list[str]]:
        if self._mapping is not None:
            return self._mapping
        key = self._site_key()
        if self.cache_file is not None:
            try:
                cached = json.loads(self.cache_file.read_text())
                if cached.get("key") == key:
                    self._mapping = cached["mapping"]
                    return self._mapping
            except (OSError, ValueError, KeyError):
                pass
        from importlib import metadata

        self._mapping = {k: sorted(set(v)) for k, v in metadata.packages_distributions().items()}
        if self.cache_file is not None:
            from ..fileio import write_atomic

            write_atomic(self.cache_file, json.dumps({"key": key, "mapping": self._mapping}))
        return self._mapping

    @staticmethod
    def _site_key() -> str:
        stamps = []
        for entry in sys.path:
            path = Path(entry or ".")
            if path.name in ("site-packages", "dist-packages") and path.is_dir():
                stamps.append(f"{path}:{path.stat().st_mtime_ns}")
        return _sha("|".join(stamps))
