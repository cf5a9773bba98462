"""Compile and run speed against plain papermill, on the generated notebooks."""

from __future__ import annotations

import os
from pathlib import Path

from . import notebooks
from .measure import BIN, figure, timed


def measure(tmp: Path) -> None:
    env = {**os.environ, "NB2PIPE_NO_TRACKING": "1"}
    # Compile: 20 steps, 300 cells, one process, in-process wall time of the command.
    big = notebooks.write(notebooks.many_cells(300, 20), tmp / "big" / "big.ipynb")
    compile_s = timed([str(BIN / "nb2pipe"), "compile", str(big), "-o", str(tmp / "out")])
    figure("compile 20 steps / 300 cells", f"{compile_s:.2f} s (whole command)", "well < 1 s")

    six = notebooks.write(notebooks.six_steps(), tmp / "six" / "six.ipynb")
    papermill_cmd = [str(BIN / "papermill"), "--no-progress-bar", str(six), str(tmp / "pm.ipynb")]
    plain = timed(papermill_cmd)
    figure("plain papermill, 6-step notebook", f"{plain:.2f} s", "baseline")

    space = tmp / "six" / ".nb2pipe"
    run_cmd = [str(BIN / "nb2pipe"), "run", str(six), "--workspace", str(space)]
    cold = timed(run_cmd + ["--force"], env=env)
    figure(
        "cold run, 6 steps, two branches",
        f"{cold / plain:.2f}x papermill ({cold:.2f} s)",
        "<= 1.0x",
    )
    warm = timed(run_cmd, env=env)
    figure("re-run, nothing changed", f"{warm / plain:.3f}x papermill ({warm:.2f} s)", "<= 0.1x")

    cells = notebooks.write(notebooks.many_cells(300, 1), tmp / "cells" / "cells.ipynb")
    pm = [str(BIN / "papermill"), "--no-progress-bar"]
    pm_default = timed(pm + [str(cells), str(tmp / "c1.ipynb")], repeat=1)
    pm_ours = timed(pm + ["--engine", "nb2pipe", str(cells), str(tmp / "c2.ipynb")], repeat=1)
    ours = timed(
        [str(BIN / "nb2pipe"), "run", str(cells), "--force"]
        + ["--workspace", str(tmp / "cells" / ".nb2pipe")],
        env=env,
        repeat=1,
    )
    figure("300 cells, papermill default engine", f"{pm_default:.2f} s", "baseline")
    figure(
        "300 cells, papermill --engine nb2pipe",
        f"{pm_ours:.2f} s ({(pm_default - pm_ours) / 300 * 1000:+.1f} ms/cell saved)",
        "no full rewrite per cell",
    )
    figure(
        "300 cells, nb2pipe run", f"{ours / pm_default:.2f}x papermill ({ours:.2f} s)", "<= 1.0x"
    )
