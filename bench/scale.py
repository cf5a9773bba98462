"""The pipeline's own size: a generated 100-step pipeline compiled (a chain, a wide fan-out).

Whole commands, as a user runs them: `nb2pipe compile` of each notebook into a folder.
"""

from __future__ import annotations

from pathlib import Path

from . import notebooks
from .measure import BIN, figure, timed_cpu

STEPS = 100


def measure(tmp: Path) -> None:
    for label, shape in (("a chain", notebooks.chain), ("a fan-out", notebooks.fan_out)):
        source = notebooks.write(shape(STEPS), tmp / shape.__name__ / f"{shape.__name__}.ipynb")
        out = source.parent / "compiled"
        took, cpu = timed_cpu([str(BIN / "nb2pipe"), "compile", str(source), "-o", str(out)])
        figure(
            f"compile {STEPS} steps, {label}",
            f"{took:.2f} s (whole command; {cpu:.2f} s of CPU)",
            "<= 1 s",
        )
