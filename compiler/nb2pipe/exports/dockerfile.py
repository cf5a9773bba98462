"""The build files of step images: one Dockerfile per step, from `templates/Dockerfile.j2`.

The build context is the compiled pipeline folder::

    pipeline.yaml, steps/<step>.ipynb      what `nb2pipe compile` writes
    requirements/<step>.txt, .lock         the step's requirements and their pinned closure
    dockerfiles/<step>.Dockerfile          FROM base, venv + requirements, runtime, notebook
    runtime/nb2pipe/...                    the few nb2pipe modules a step needs at run time

The nb2pipe runtime is copied, not installed: a step notebook needs only `nb2pipe.artifacts`
(standard library only at import) and the launcher, while the `jupyter-mlops` distribution
would bring MLflow and JupyterLab into every image, and is not on any index a cluster reaches.
"""

from __future__ import annotations

from pathlib import Path

from ..compile import build
from ..compile.ir import Pipeline, Step
from ..compile.tags import IMAGE_REF
from ..errors import Nb2PipeError
from ..rendering import render_template
from .requirements import Distributions, requirements_files

DEFAULT_BASE = "python:3.11-slim"
IMAGE_ROOT = "/opt/nb2pipe"
STEP_NOTEBOOK = f"{IMAGE_ROOT}/step.ipynb"  # where the image holds its step notebook
# The nb2pipe modules a step runs with, relative to the package: what `load`/`save` and the
# launcher import, and nothing that needs papermill, nbformat or MLflow at import. The whole
# artifacts package goes (its formats, what serve and features steps keep): a module of it left
# out would fail only inside a container.
RUNTIME_MODULES = (
    "__init__.py",
    "errors.py",
    "executed.py",
    "fileio.py",
    "notebook.py",
    "plugins.py",
    *sorted(f"artifacts/{p.name}" for p in (Path(__file__).parents[1] / "artifacts").glob("*.py")),
    "exports/__init__.py",
    "exports/launch.py",
)


def dockerfile(pipeline: Pipeline, step: Step, base: str = DEFAULT_BASE) -> str:
    """The Dockerfile of `step`; an ``image:`` tag on the step replaces `base`."""
    image = step.image or base
    if not IMAGE_REF.match(image):  # `FROM x\nRUN …` would be another instruction
        raise Nb2PipeError(f"--base {image!r}: not an image reference (e.g. python:3.11-slim)")
    return render_template(
        "Dockerfile.j2",
        pipeline=pipeline.name,
        step=step.name,
        base=image,
        notebook=STEP_NOTEBOOK,
    )


def runtime_files() -> dict[str, str]:
    """``runtime/nb2pipe/...`` → the text of each runtime module."""
    package = Path(__file__).resolve().parents[1]
    return {
        f"runtime/nb2pipe/{module}": (package / module).read_text(encoding="utf-8")
        for module in RUNTIME_MODULES
    }


def step_context(step: Step) -> list[str]:
    """The files (relative to the build context) that `step`'s image is built from."""
    return [
        f"dockerfiles/{step.name}.Dockerfile",
        f"requirements/{step.name}.lock",
        f"steps/{step.name}.ipynb",
        *(f"runtime/nb2pipe/{module}" for module in RUNTIME_MODULES),
    ]


def build_files(
    pipeline: Pipeline,
    base: str = DEFAULT_BASE,
    installed: Distributions | None = None,
    out_dir: Path = Path("."),
    notebook_path: Path | None = None,
) -> dict[str, str]:
    """Every file of the build context as relative path → text; nothing is written."""
    files = build.render(pipeline, out_dir, notebook_path)
    files.update(requirements_files(pipeline, installed))
    for step in pipeline.steps:
        files[f"dockerfiles/{step.name}.Dockerfile"] = dockerfile(pipeline, step, base)
    files.update(runtime_files())
    return files
