"""`make bench`: speed goals as ratios against plain papermill, measured in the same run.

Each figure line reads `name: value (goal)`. Timings are medians of a few repetitions of whole
commands, as a user runs them (a fresh process each), on whatever this machine is doing.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import notebooks, tracking

BIN = Path(sys.executable).parent
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))


def timed(cmd: list[str], env=None, repeat: int = REPEAT, before=None) -> float:
    runs = []
    for _ in range(repeat):
        if before:
            before()
        start = time.perf_counter()
        subprocess.run(
            cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def figure(name: str, value: str, goal: str) -> None:
    print(f"{name}: {value}  (goal: {goal})", flush=True)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="nb2pipe-bench-"))
    env = {**os.environ, "NB2PIPE_NO_TRACKING": "1"}
    try:
        # Compile: 20 steps, 300 cells, one process, in-process wall time of the command.
        big = notebooks.write(notebooks.many_cells(300, 20), tmp / "big" / "big.ipynb")
        compile_s = timed([str(BIN / "nb2pipe"), "compile", str(big), "-o", str(tmp / "out")])
        figure("compile 20 steps / 300 cells", f"{compile_s:.2f} s (whole command)", "well < 1 s")

        six = notebooks.write(notebooks.six_steps(), tmp / "six" / "six.ipynb")
        papermill_cmd = [
            str(BIN / "papermill"),
            "--no-progress-bar",
            str(six),
            str(tmp / "pm.ipynb"),
        ]
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
        figure(
            "re-run, nothing changed", f"{warm / plain:.3f}x papermill ({warm:.2f} s)", "<= 0.1x"
        )

        cells = notebooks.write(notebooks.many_cells(300, 1), tmp / "cells" / "cells.ipynb")
        pm_default = timed(
            [str(BIN / "papermill"), "--no-progress-bar", str(cells), str(tmp / "c1.ipynb")],
            repeat=1,
        )
        pm_ours = timed(
            [
                str(BIN / "papermill"),
                "--no-progress-bar",
                "--engine",
                "nb2pipe",
                str(cells),
                str(tmp / "c2.ipynb"),
            ],
            repeat=1,
        )
        ours = timed(
            [
                str(BIN / "nb2pipe"),
                "run",
                str(cells),
                "--force",
                "--workspace",
                str(tmp / "cells" / ".nb2pipe"),
            ],
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
            "300 cells, nb2pipe run",
            f"{ours / pm_default:.2f}x papermill ({ours:.2f} s)",
            "<= 1.0x",
        )
        costs = tracking.measure(tmp)
        figure(
            f"log {tracking.N} metrics, jupyter_mlops (batched)",
            f"{costs['ours']:.2f} s vs {costs['plain']:.1f} s for {tracking.N} plain "
            f"mlflow.log_metric calls ({costs['plain'] / costs['ours']:.0f}x faster)",
            "batched, not one call per value",
        )
        figure(
            "%load_ext jupyter_mlops",
            f"{costs['load_ext'] * 1000:.0f} ms, mlflow not imported",
            "no mlflow import",
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
