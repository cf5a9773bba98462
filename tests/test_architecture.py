"""The architecture's rules, checked by reading every module's imports (ARCHITECTURE.md).

- nb2pipe (compiler/nb2pipe/) never imports jupyter_mlops: MLOps services plug in through
  entry points (observers, commands), never the other way round.
- The services (tracking, registry, data, serving, retrain) never import the surfaces on top
  of them (server/, magics, display, cli).
- What step kernels and step images import (the artifact runtime, the launcher) uses the
  standard library only at module level.
- No module grows past a few hundred lines.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NB2PIPE = ROOT / "compiler" / "nb2pipe"
MLOPS = ROOT / "jupyter_mlops"
SERVICES = ["tracking", "registry", "data", "serving", "retrain"]
SURFACES = ["jupyter_mlops.server", "jupyter_mlops.magics", "jupyter_mlops.display",
            "jupyter_mlops.cli", "jupyter_mlops.widgets", "jupyter_mlops.notebook_runs"]  # fmt: skip
RUNTIME = ["artifacts", "fileio.py", "plugins.py", "errors.py", "executed.py", "notebook.py", "trial.py",
           "exports/launch.py"]  # fmt: skip
MAX_LINES = 350


def modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "labextension" not in p.parts)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(NB2PIPE.parent if NB2PIPE in path.parents else ROOT).parts)
    parts[-1] = parts[-1].removesuffix(".py")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, *, top_level_only: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in `path` (relative ones resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out = []
    for node in nodes:
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.append((node.lineno, module))
            out += [(node.lineno, f"{module}.{a.name}") for a in node.names if a.name != "*"]
    return out


def offending(paths: list[Path], forbidden, **kwargs) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line}: imports {name}"
        for path in paths
        for line, name in imports(path, **kwargs)
        if forbidden(name)
    ]


def test_nb2pipe_never_imports_jupyter_mlops():
    bad = offending(modules(NB2PIPE), lambda n: n.split(".")[0] == "jupyter_mlops")
    assert bad == []


@pytest.mark.parametrize("service", SERVICES)
def test_services_never_import_the_surfaces(service):
    def forbidden(name: str) -> bool:
        return any(name == s or name.startswith(s + ".") for s in SURFACES)

    assert offending(modules(MLOPS / service), forbidden) == []


def test_the_step_runtime_imports_only_the_standard_library_at_module_level():
    paths = []
    for entry in RUNTIME:
        target = NB2PIPE / entry
        paths += modules(target) if target.is_dir() else [target]
    allowed = set(sys.stdlib_module_names) | {"nb2pipe", "__future__"}
    bad = offending(paths, lambda n: n.split(".")[0] not in allowed, top_level_only=True)
    assert bad == []


def test_the_compile_path_imports_nothing_heavy_at_module_level():
    heavy = {"papermill", "nbformat", "nbclient", "jupyter_client", "mlflow", "pandas", "numpy"}
    paths = [NB2PIPE / f for f in ["compile.py", "analysis.py", "visitor.py", "calls.py",
             "resolve.py", "carried.py", "grouping.py", "tags.py", "ir.py", "pipeline_file.py",
             "build.py", "paths.py", "effects.py", "parameters.py", "notebook.py", "show.py"]]  # fmt: skip
    paths += modules(NB2PIPE / "cli")
    bad = offending(paths, lambda n: n.split(".")[0] in heavy, top_level_only=True)
    assert bad == []


def test_no_module_is_over_a_few_hundred_lines():
    long = [
        f"{path.relative_to(ROOT)}: {count} lines"
        for path in modules(NB2PIPE) + modules(MLOPS)
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert long == []
