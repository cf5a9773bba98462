"""`make bench`: speed goals as ratios against plain papermill (or the named peer), measured in
the same run.

Each figure line reads `name: value (goal)`. Timings are medians of a few repetitions of whole
commands, as a user runs them (a fresh process each), on whatever this machine is doing: the
first line says what that is. `python -m bench SECTION...` runs only the sections named.
"""

from __future__ import annotations

import compileall
import shutil
import sys
import tempfile
from pathlib import Path

from . import (
    distributed,
    drift,
    experiments,
    handoff,
    memory,
    pipeline,
    scale,
    serving,
    sweep,
    tracking,
)
from .measure import load

# One module per section; a new section is one module and one line here.
SECTIONS = {
    "pipeline": pipeline.measure,
    "scale": scale.measure,
    "handoff": handoff.measure,
    "memory": memory.measure,
    "tracking": tracking.measure,
    "experiments": experiments.measure,
    "serving": serving.measure,
    "drift": drift.measure,
    "distributed": distributed.measure,
    "sweep": sweep.measure,
}


def main(argv: list[str]) -> int:
    unknown = [name for name in argv if name not in SECTIONS]
    if unknown:
        print(f"error: unknown bench section {unknown[0]!r}; one of: {', '.join(SECTIONS)}")
        return 2
    # Our own modules as an installed wheel carries them, compiled to bytecode (as pip does):
    # an editable install on a machine with PYTHONDONTWRITEBYTECODE compiles them in every
    # process otherwise (0.3 s of a no-change run). Stale bytecode is never used.
    root = Path(__file__).resolve().parents[1]
    for package in ("compiler/nb2pipe", "jupyter_mlops"):
        compileall.compile_dir(root / package, quiet=1)
    print(f"machine: {load()}", flush=True)
    for name in argv or SECTIONS:
        tmp = Path(tempfile.mkdtemp(prefix=f"nb2pipe-bench-{name}-"))
        try:
            SECTIONS[name](tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"machine: {load()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
