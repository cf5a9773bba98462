"""`make demo`: the example notebook compiled into a pipeline, shown step by step."""

from __future__ import annotations

from pathlib import Path

from .build import write_compiled
from .compile import compile_notebook
from .show import text

EXAMPLE = Path("example_notebooks/wine_quality.ipynb")


def main() -> None:
    pipeline = compile_notebook(EXAMPLE)
    out = EXAMPLE.with_name(f"{EXAMPLE.stem}_pipeline")
    write_compiled(pipeline, out, EXAMPLE)
    print(text(pipeline))
    print(f"\ncompiled into {out}/ (pipeline.yaml and one notebook per step)")


if __name__ == "__main__":
    main()
