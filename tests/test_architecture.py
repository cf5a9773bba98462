"""The architecture's rules, checked by reading every module's imports (ARCHITECTURE.md).

- nb2pipe (compiler/nb2pipe/) never imports jupyter_mlops: MLOps services plug in through
  entry points (observers, commands), never the other way round.
- The services (tracking, registry, data, serving, retrain) never import the surfaces on top
  of them (server/, magics, display, cli), and stand in layers: tracking and data at the bottom,
  then registry, serving, retrain; a service imports only the ones below it. The package's root
  modules (errors, credentials, metrics) are below every service.
- No import circle inside nb2pipe or jupyter_mlops, except one under `TYPE_CHECKING`.
- What step kernels and step images import (the artifact runtime, the launcher) uses the
  standard library only at module level.
- No module grows past a few hundred lines.
- The labextension reads no MLflow tag name: the server's routes answer in domain words.
"""

from __future__ import annotations

import ast
import re
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
# Each service and the services it may import: tracking and data stand side by side at the
# bottom (data logs through tracking, never the reverse), then registry, serving, retrain.
BELOW = {
    "tracking": set(),
    "data": {"tracking"},
    "registry": {"tracking", "data"},
    "serving": {"tracking", "data", "registry"},
    "retrain": {"tracking", "data", "registry", "serving"},
}


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


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the nodes under `if TYPE_CHECKING:`: imports for annotations, never run."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            inside |= {id(n) for child in node.body for n in ast.walk(child)}
    return inside


def import_graph(folder: Path) -> dict[str, set[str]]:
    """Each module of `folder` -> the modules of `folder` it imports, at module level or in a
    function (`from package import module` is an arrow to the module, not the package)."""
    paths = {module_name(p): p for p in modules(folder)}
    graph = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_only(tree)
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        arrows = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                arrows |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                module = ".".join(base + ([node.module] if node.module else []))
                arrows |= {
                    m if (m := f"{module}.{a.name}") in paths else module for a in node.names
                }
        graph[name] = {a for a in arrows if a in paths and a != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The modules that import each other in a circle, one set per circle (Tarjan's strongly
    connected components of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


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


def test_a_service_imports_only_the_services_below_it():
    graph = import_graph(MLOPS)
    up = [
        f"{importer} imports {imported}"
        for importer, targets in graph.items()
        for imported in targets
        if (a := importer.split(".")[1:2]) and (b := imported.split(".")[1:2])
        and a[0] in BELOW and b[0] in BELOW and a != b and b[0] not in BELOW[a[0]]
    ]  # fmt: skip
    assert up == []


def test_the_package_root_modules_stand_below_every_service_and_surface():
    surfaces = {s.removeprefix("jupyter_mlops.") for s in SURFACES}
    roots = [p for p in MLOPS.glob("*.py") if p.stem not in surfaces | {"__init__"}]
    assert {p.stem for p in roots} >= {"errors", "credentials", "metrics"}
    layered = set(BELOW) | surfaces
    bad = offending(roots, lambda n: n.split(".")[0] == "jupyter_mlops" and n.split(".")[1:2]
                    and n.split(".")[1] in layered)  # fmt: skip
    assert bad == []


def test_jupyter_mlops_has_no_import_circle():
    assert [sorted(c) for c in circles(import_graph(MLOPS))] == []


def test_nb2pipe_has_no_import_circle():
    assert [sorted(c) for c in circles(import_graph(NB2PIPE))] == []


def test_the_circle_check_names_every_module_of_a_circle():
    graph = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}}
    assert circles(graph) == [frozenset({"p.a", "p.b", "p.c"})]


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
    paths = modules(NB2PIPE / "compile") + [NB2PIPE / "notebook.py"]
    paths += modules(NB2PIPE / "cli")
    bad = offending(paths, lambda n: n.split(".")[0] in heavy, top_level_only=True)
    assert bad == []


def test_the_served_model_code_imports_neither_of_our_packages():
    """MLflow loads it as the model's code in any runtime, where neither may be installed."""
    path = MLOPS / "registry" / "served_model.py"
    bad = offending([path], lambda n: n.split(".")[0] in ("jupyter_mlops", "nb2pipe"))
    assert bad == []


def test_no_module_is_over_a_few_hundred_lines():
    long = [
        f"{path.relative_to(ROOT)}: {count} lines"
        for path in modules(NB2PIPE) + modules(MLOPS)
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert long == []


LABEXTENSION_SRC = ROOT / "labextension" / "src"
# A tag name in a string: 'nb2pipe.step', "mlflow.parentRunId", `nb2pipe.artifact.${x}`, a
# pattern /^nb2pipe\.artifact/. The server answers in domain words; the client renders them.
_TAG_NAME = re.compile(r"""['"`/^](?:nb2pipe|mlflow)\\?\.[A-Za-z_]""")


def test_the_labextension_reads_no_mlflow_tag_name():
    found = []
    for path in sorted(LABEXTENSION_SRC.rglob("*.ts*")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("//", 1)[0]
            if code.lstrip().startswith(("*", "/*")):
                continue  # a comment: it may name the Python module that writes the tags
            if _TAG_NAME.search(code):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []
