"""`nb2pipe ci init`: the CI workflow and pre-commit hooks of a project, from templates/ci/.

The workflow runs, for each notebook: ``nb2pipe check`` → ``nb2pipe test`` → the pipeline on
its own parameters → the model gate → (main branch only) publish. The pre-commit config runs
``nb2pipe check`` on the notebooks and strips outputs with nbstripout (cells tagged
``keep_output`` keep theirs: those are the outputs `nb2pipe test` compares).

The output depends only on the project's files, never on the clock or the machine, so a
regenerated workflow diffs cleanly. Existing files are never overwritten without ``force``,
and nothing is written unless everything can be.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import Nb2PipeError

PROVIDERS = {
    "github": (".github/workflows/nb2pipe.yml", "github.yml.j2"),
    "gitlab": (".gitlab-ci.yml", "gitlab-ci.yml.j2"),
}
PRE_COMMIT = (".pre-commit-config.yaml", "pre-commit-config.yaml.j2")
PYTHON = "3.11"
# Folders never searched for notebooks: tools' and environments' own, and compiled output.
_SKIP_DIRS = {"node_modules", "site-packages", "__pycache__", "build", "dist"}
_PUBLISH = re.compile(r"publish_model\(\s*[^,()]+,\s*(?:name\s*=\s*)?[\"']([^\"']+)[\"']")
_METRIC = re.compile(r"publish_model\([^)]*\bmetric\s*=\s*[\"']([A-Za-z_]\w*)[\"']", re.S)


@dataclass
class Target:
    """One notebook the workflow tests, and the registered model its gate compares."""

    path: str  # relative to the project root, with forward slashes
    check_id: str  # pre-commit hook id
    model: str
    metric: str | None


def find_notebooks(root: Path) -> list[Path]:
    """Notebooks under `root` that declare at least one step (``step:`` or Kale's ``block:``)."""
    found = []
    for path in sorted(root.rglob("*.ipynb")):
        parts = path.relative_to(root).parts[:-1]
        if any(p.startswith(".") or p in _SKIP_DIRS or p.endswith("_pipeline") for p in parts):
            continue
        if _declares_step(path):
            found.append(path)
    return found


def _declares_step(path: Path) -> bool:
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return False
    for cell in cells:
        metadata = cell.get("metadata") or {}
        if "role" in (metadata.get("nb2pipe") or {}):
            return False  # a compiled step notebook, not a source
        for tag in metadata.get("tags") or []:
            if isinstance(tag, str) and tag.split(":", 1)[0].strip() in ("step", "block"):
                return True
    return False


def targets(root: Path, notebooks: list[Path]) -> list[Target]:
    """Compile each notebook (bad input stops here) and name its model and gate metric."""
    from .compile import compile_notebook
    from .testing.spec import read_spec

    out: list[Target] = []
    ids: set[str] = set()
    for notebook in notebooks:
        path = (root / notebook).resolve() if not notebook.is_absolute() else notebook.resolve()
        try:
            relative = path.relative_to(root.resolve()).as_posix()
        except ValueError:
            raise Nb2PipeError(
                f"--notebook {notebook}: outside the project folder {root}"
            ) from None
        try:
            pipeline = compile_notebook(path)
            spec = read_spec(path)
        except Nb2PipeError as e:
            e.file = str(notebook)  # as the user named it
            raise
        pipeline_metrics = [m for step in pipeline.steps for m in step.metrics]
        source = "\n".join(c.source for step in pipeline.steps for c in step.cells)
        published = _PUBLISH.search(source)
        declared = _METRIC.search(source)
        asserted = [n for a in spec.assertions for n in a.names]
        metric = (
            (declared.group(1) if declared else None)
            or next(iter(asserted), None)
            or next(iter(pipeline_metrics), None)
        )
        check_id = f"nb2pipe-check-{pipeline.name.replace('_', '-')}"
        while check_id in ids:
            check_id += "-2"
        ids.add(check_id)
        model = published.group(1) if published else pipeline.name.replace("_", "-")
        out.append(Target(relative, check_id, model, metric))
    return out


def render(root: Path, provider: str, found: list[Target]) -> dict[str, str]:
    """Relative path → text of every file `ci init` writes; nothing is written."""
    from .rendering import render_template

    if provider not in PROVIDERS:
        raise Nb2PipeError(f"unknown provider {provider!r} (github or gitlab)")
    context = {
        "targets": found,
        "python": PYTHON,
        "install": _install_commands(root),
        "pip_cache": (root / "requirements.txt").is_file() or (root / "pyproject.toml").is_file(),
    }
    workflow, template = PROVIDERS[provider]
    files = {workflow: render_template(f"ci/{template}", **context)}
    files[PRE_COMMIT[0]] = render_template(f"ci/{PRE_COMMIT[1]}", **context)
    return files


def _install_commands(root: Path) -> list[str]:
    commands = ["python -m pip install --upgrade pip"]
    if (root / "requirements.txt").is_file():
        commands.append("pip install -r requirements.txt")
    if (root / "pyproject.toml").is_file():
        commands.append("pip install -e .")
    if _project_name(root) != "jupyter-mlops":
        commands.append("pip install jupyter-mlops")
    return commands


def _project_name(root: Path) -> str | None:
    import tomllib

    try:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return (data.get("project") or {}).get("name")


def init(
    root: Path, provider: str = "github", notebooks: list[Path] = (), force: bool = False
) -> list[Path]:
    """Write the workflow and the pre-commit config into `root`; return the paths written."""
    from .notebook import write_atomic

    root = Path(root)
    if provider not in PROVIDERS:
        raise Nb2PipeError(f"unknown provider {provider!r} (github or gitlab)")
    notebooks = [Path(n) for n in notebooks] or find_notebooks(root)
    if not notebooks:
        raise Nb2PipeError(
            f"no tagged notebook under {root} (none has a step: tag); name one with --notebook"
        )
    files = render(root, provider, targets(root, notebooks))
    existing = [rel for rel in files if (root / rel).exists()]
    if existing and not force:
        verb = "exists" if len(existing) == 1 else "exist"
        raise Nb2PipeError(f"{', '.join(existing)} already {verb} (overwrite with --force)")
    written = []
    for rel, text in files.items():
        write_atomic(root / rel, text)
        written.append(Path(rel))
    return written
