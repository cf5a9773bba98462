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

import ast
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from ..errors import Nb2PipeError

PROVIDERS = {
    "github": (".github/workflows/nb2pipe.yml", "github.yml.j2"),
    "gitlab": (".gitlab-ci.yml", "gitlab-ci.yml.j2"),
}
PRE_COMMIT = (".pre-commit-config.yaml", "pre-commit-config.yaml.j2")
PYTHON = "3.11"
# Folders never searched for notebooks: tools' and environments' own, and compiled output.
_SKIP_DIRS = {"node_modules", "site-packages", "__pycache__", "build", "dist"}
# What a CI file cannot carry safely, in any value taken from a path, a notebook or a user: a
# line break ends the YAML scalar and the shell command it sits in (other control characters
# corrupt them), and GitHub Actions evaluates `${{ … }}` anywhere in a workflow, before any
# shell quoting applies.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
_EXPRESSION = "${{"


@dataclass
class Target:
    """One notebook the workflow tests, and the registered model its gate compares."""

    path: str  # relative to the project root, with forward slashes
    check_id: str  # pre-commit hook id
    model: str
    metric: str | None

    @property
    def arg(self) -> str:
        """The path as a command's argument: never mistaken for an option."""
        return command_path(self.path)


def command_path(path: str) -> str:
    """`path` (relative) as a command-line argument: ``-x.ipynb`` would read as an option."""
    return f"./{path}" if path.startswith("-") else path


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
    from ..compile.compiler import compile_notebook
    from ..testing.spec import read_spec

    out: list[Target] = []
    ids: set[str] = set()
    for notebook in notebooks:
        path = (root / notebook).resolve() if not notebook.is_absolute() else notebook.resolve()
        try:
            relative = path.relative_to(root.resolve()).as_posix()
        except ValueError:
            raise Nb2PipeError(
                f"--notebook {printable(str(notebook))}: outside the project folder {root}"
            ) from None
        shown = str(notebook) if not notebook.is_absolute() else relative  # as the user named it
        ci_value(relative, "the notebook's path", file=shown)
        try:
            pipeline = compile_notebook(path)
            spec = read_spec(path)
        except Nb2PipeError as e:
            e.file = printable(shown)
            raise
        pipeline_metrics = [m for step in pipeline.steps for m in step.metrics]
        cells = [c for step in pipeline.steps for c in step.cells]
        published, declared = published_model(cells, shown)
        asserted = [n for a in spec.assertions for n in a.names]
        metric = declared or next(iter(asserted), None) or next(iter(pipeline_metrics), None)
        check_id = f"nb2pipe-check-{pipeline.name.replace('_', '-')}"
        while check_id in ids:
            check_id += "-2"
        ids.add(check_id)
        model = published or pipeline.name.replace("_", "-")
        out.append(Target(relative, check_id, model, metric))
    return out


def published_model(cells, notebook: str) -> tuple[str | None, str | None]:
    """The model name and gate metric of the first ``publish_model(model, "name",
    metric="m")`` call (or ``%mlops publish model NAME --metric M`` line) in `cells`.

    Read from the code with `ast`, never by searching the text: a name in a comment or a
    string is not a call, and only literal values count.
    """
    from ..compile.cellcode import parse

    for cell in cells:
        if getattr(cell, "kind", "code") != "code":
            continue
        try:
            tree = parse(cell.source, cell.number)
        except Nb2PipeError:
            continue
        calls = sorted(
            (n for n in ast.walk(tree) if isinstance(n, ast.Call)),
            key=lambda n: (n.lineno, n.col_offset),
        )
        for call in calls:
            found = _publish_call(call) or _publish_magic(call)
            if found is not None:
                name, metric = found
                where = f"cell {cell.number}: publish_model's"
                for value, what in ((name, "model name"), (metric, "metric")):
                    if value is not None:
                        label = f"{where} {what} '{printable(value)}'"
                        ci_value(value, label, file=notebook, option=False)
                return name, metric
    return None, None


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _publish_call(call: ast.Call) -> tuple[str | None, str | None] | None:
    func = call.func
    callee = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if callee != "publish_model":
        return None
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    name = keywords.get("name", call.args[1] if len(call.args) > 1 else None)
    return _literal(name), _literal(keywords.get("metric"))


def _publish_magic(call: ast.Call) -> tuple[str | None, str | None] | None:
    """``%mlops publish model NAME --metric M``, as IPython turns it into a call."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr == "run_line_magic"):
        return None
    if len(call.args) != 2 or _literal(call.args[0]) != "mlops":
        return None
    try:
        words = shlex.split(_literal(call.args[1]) or "")
    except ValueError:
        return None
    if words[:2] != ["publish", "model"] or len(words) < 3:
        return None
    metric = words[words.index("--metric") + 1] if "--metric" in words[:-1] else None
    return words[2], metric


def ci_value(value: str, what: str, *, file: str | None = None, option: bool = True) -> str:
    """`value` if a CI file can carry it (quoted); else a one-line error naming `what`.

    With `option` False the value is a command's argument that must not read as an option.
    """
    if not option and value.startswith("-"):
        raise Nb2PipeError(
            f"{what} starts with '-', which a command would read as an option (rename it)",
            file=printable(file) if file else None,
        )
    if _UNSAFE.search(value):
        raise Nb2PipeError(
            f"{what} holds a line break or another control character, which a CI file cannot "
            "carry safely (rename it)",
            file=printable(file) if file else None,
        )
    if _EXPRESSION in value:
        raise Nb2PipeError(
            f"{what} holds '${{{{', which GitHub Actions would evaluate (rename it)",
            file=printable(file) if file else None,
        )
    return value


def printable(text: str) -> str:
    """`text` on one line: control characters shown as escapes (for error messages)."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def render(root: Path, provider: str, found: list[Target]) -> dict[str, str]:
    """Relative path → text of every file `ci init` writes; nothing is written."""
    from ..rendering import render_template

    if provider not in PROVIDERS:
        raise Nb2PipeError(f"unknown provider {provider!r} (github or gitlab)")
    context = {
        "targets": found,
        "paths": [t.arg for t in found],
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
    from ..fileio import write_atomic

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
