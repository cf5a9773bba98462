"""`make demo`: the example notebook compiled, run as a pipeline, tracked, its model published.

Run from the project root: `.venv/bin/python example_notebooks/demo.py`. It uses only public
entry points — what a user would type, as Python.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from jupyter_mlops.credentials import redact_uri
from jupyter_mlops.registry.promote import promote
from jupyter_mlops.registry.publish_run import publish_from_run
from jupyter_mlops.tracking.config import tracking_uri
from nb2pipe.compile.build import write_compiled
from nb2pipe.compile.compiler import compile_notebook
from nb2pipe.compile.show import text
from nb2pipe.runner import run_pipeline
from nb2pipe.runner.events import plugged_in
from nb2pipe.runner.progress import TerminalProgress
from nb2pipe.runner.rundir import RunDir

EXAMPLE = Path("example_notebooks/breast_cancer_diagnosis.ipynb")
MODEL_NAME = "breast-cancer-diagnosis"


def main() -> None:
    pipeline = compile_notebook(EXAMPLE)
    out = EXAMPLE.with_name(f"{EXAMPLE.stem}_pipeline")
    write_compiled(pipeline, out, EXAMPLE)
    print(text(pipeline))
    print(f"\n1. compiled into {out}/ (pipeline.yaml and one notebook per step)\n")

    observers = [TerminalProgress(force=True), *plugged_in()]
    result = run_pipeline(pipeline, EXAMPLE, observers=observers)  # compiled once, above
    print(f"2. ran as a pipeline: {result.status} in {result.duration:.1f}s")
    for step in result.steps.values():
        where = os.path.relpath(step.notebook) if step.notebook else ""
        print(f"   {step.name:<16} {step.status:<7} {step.duration:5.2f}s  {where}")
    print(f"   metrics: {result.metrics}")
    print(f"   results: {os.path.relpath(result.run_dir)}/")
    failure = result.failure()
    if failure is not None:
        raise SystemExit(f"error: {failure}")

    uri = tracking_uri(EXAMPLE.parent)
    published = publish_from_run(
        RunDir(result.run_dir), MODEL_NAME, metric="f1_macro", tracking_uri=uri
    )
    if published.already:
        print(
            f"3. already published: {published.name} version {published.version} is this very "
            f"model (every step came from the cache), in {redact_uri(uri)}"
        )
    else:
        print(
            f"3. published {published.name} version {published.version} "
            f"(alias {published.alias}) with its model card, in {redact_uri(uri)}"
        )
    decision = promote(MODEL_NAME, "f1_macro", tracking_uri=uri)
    print(f"4. model gate: {decision}")
    # Quoted: a clone in a folder with a space (or worse) still gives a command that works.
    command = f".venv/bin/mlflow ui --backend-store-uri {shlex.quote(redact_uri(uri))}"
    print(f"   see it all with: {command}")


if __name__ == "__main__":
    main()
