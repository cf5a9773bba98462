"""`make demo`: the example notebook compiled, run as a pipeline and shown, step by step."""

from __future__ import annotations

import os
from pathlib import Path

from .build import write_compiled
from .compile import compile_notebook
from .show import text

EXAMPLE = Path("example_notebooks/wine_quality.ipynb")


def main() -> None:
    from .cli import _tracking_observers
    from .runner import run_pipeline
    from .runner.progress import TerminalProgress

    pipeline = compile_notebook(EXAMPLE)
    out = EXAMPLE.with_name(f"{EXAMPLE.stem}_pipeline")
    write_compiled(pipeline, out, EXAMPLE)
    print(text(pipeline))
    print(f"\n1. compiled into {out}/ (pipeline.yaml and one notebook per step)\n")

    result = run_pipeline(EXAMPLE, observers=[TerminalProgress(force=True), *_tracking_observers()])
    print(f"2. ran as a pipeline: {result.status} in {result.duration:.1f}s")
    for step in result.steps.values():
        where = os.path.relpath(step.notebook) if step.notebook else ""
        print(f"   {step.name:<16} {step.status:<7} {step.duration:5.2f}s  {where}")
    print(f"   metrics: {result.metrics}")
    print(f"   results: {os.path.relpath(result.run_dir)}/")
    failure = result.failure()
    if failure is not None:
        raise SystemExit(f"error: {failure}")
    _publish(result)


def _publish(result) -> None:
    """Track and publish, when the MLOps services are installed (they are, with `make`)."""
    try:
        from jupyter_mlops.demo import publish_example
    except ImportError:
        return
    publish_example(result)


if __name__ == "__main__":
    main()
