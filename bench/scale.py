"""The pipeline's own size: a generated 100-step pipeline compiled (a chain, a wide fan-out), and
the runner's own cost per step, with steps that do nothing.

Compile: whole commands, as a user runs them. Runner: `nb2pipe run --force` of 100 idle steps
(tracking off); its cost per step is the run's duration (run.json) less its floor — one kernel
start and the steps' own cell times (papermill's, from the executed notebooks) along the
critical path, or spread over the kernels for the fan-out (floor.py) — divided by the steps.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import floor, notebooks
from .measure import BIN, figure, timed_cpu

STEPS = 100
NO_TRACKING = {**os.environ, "NB2PIPE_NO_TRACKING": "1"}


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
    kernel = floor.kernel_start()
    kernels = os.cpu_count() or 1
    for label, shape in (("a chain", notebooks.idle_chain), ("a fan-out", notebooks.idle_fan_out)):
        source = notebooks.write(shape(STEPS), tmp / shape.__name__ / f"{shape.__name__}.ipynb")
        run = [str(BIN / "nb2pipe"), "run", str(source), "--force"]
        took, cpu = timed_cpu(run, env=NO_TRACKING, repeat=1)
        run_dir = floor.newest_run(source.parent / ".nb2pipe" / "runs")
        least = floor.of_run(
            run_dir, kernel, kernels=1 if shape is notebooks.idle_chain else kernels
        )
        spent = floor.run_seconds(run_dir)
        figure(
            f"runner's own time per step, {STEPS} idle steps, {label}",
            f"{(spent - least.seconds) / STEPS * 1000:.1f} ms (run {spent:.2f} s, "
            f"{least.says()}; command {took:.2f} s, {cpu:.2f} s of CPU)",
            "<= 20 ms",
        )
