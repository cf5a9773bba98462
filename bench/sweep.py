"""Sweeps over the cached prefix: a 2x3 grid on the six-step workload, where only the training
steps (forest, boosting) and evaluate use the swept parameters, against one cold run and six
separate cold runs of the same notebook. The grid runs load, scaled and projected once for the
six trials, and fans the rest out over warm kernels. Tracking on, as users get it."""

from __future__ import annotations

from pathlib import Path

from . import notebooks
from .measure import BIN, REPEAT, figure, timed

GRID = (("n_estimators", ("100", "150")), ("max_iter", ("50", "100", "150")))


def measure(tmp: Path) -> None:
    six = notebooks.write(notebooks.six_steps_swept(), tmp / "swept" / "six.ipynb")
    run = [str(BIN / "nb2pipe"), "run", str(six)]
    timed(run, repeat=1)  # creates the project's MLflow store, as a first run does
    repeat = min(REPEAT, 2)  # a sweep and six runs take a minute here
    cold = timed([*run, "--force"], repeat=repeat)
    figure("cold run, six steps, tracking on", f"{cold:.2f} s", "baseline")
    sweep = [str(BIN / "nb2pipe"), "sweep", str(six), "--metric", "best_score", "--force"]
    for name, values in GRID:
        sweep += ["-p", name, ",".join(values)]
    grid = timed(sweep, repeat=repeat)
    separate = 0.0
    for trees in GRID[0][1]:
        for iterations in GRID[1][1]:
            values = ["-p", "n_estimators", trees, "-p", "max_iter", iterations]
            separate += timed([*run, *values, "--force"], repeat=1)
    figure(
        "2x3 grid sweep vs one cold run (prefix once, trials in parallel)",
        f"{grid / cold:.2f}x one cold run ({grid:.2f} s)",
        "<= 2.5x",
    )
    figure(
        "2x3 grid sweep vs six separate cold runs",
        f"{grid / separate:.2f}x six runs ({separate:.2f} s)",
        "<= 0.35x",
    )
