"""Compile and run speed against plain papermill on the same notebooks, tracking on as users
get it by default (the store already exists: a project's first run also creates it)."""

from __future__ import annotations

import functools
import json
import os
import time
from pathlib import Path

from . import floor, notebooks
from .measure import BIN, figure, timed

NO_TRACKING = {**os.environ, "NB2PIPE_NO_TRACKING": "1"}


def papermill(notebook: Path, repeat: int | None = None) -> float:
    out = notebook.with_name("papermill-out.ipynb")
    cmd = [str(BIN / "papermill"), "--no-progress-bar", str(notebook), str(out)]
    return timed(cmd) if repeat is None else timed(cmd, repeat=repeat)


def nb2pipe_run(notebook: Path, *extra: str, env=None, repeat: int | None = None) -> float:
    cmd = [str(BIN / "nb2pipe"), "run", str(notebook), *extra]
    return timed(cmd, env=env) if repeat is None else timed(cmd, env=env, repeat=repeat)


def branch_overlap(runs: Path, steps: tuple[str, str]) -> float:
    """Seconds during which both `steps` were executing in the newest run of `runs`."""
    newest = max(runs.iterdir(), key=lambda p: p.name)
    spans = [json.loads((newest / step / "meta.json").read_text()) for step in steps]
    start = max(span["start"] for span in spans)
    end = min(span["end"] for span in spans)
    return max(0.0, end - start)


def background_logged(runs: Path, limit: float = 180.0) -> None:
    """Wait for the detached process logging the newest run to MLflow (a run says it is "not
    yet logged" until then): a user re-runs at human pace, and the bench measures each command
    with nothing else running."""
    if not runs.is_dir():
        return
    deadline = time.monotonic() + limit
    newest = max(runs.iterdir(), key=lambda p: p.name) / "run.json"
    while time.monotonic() < deadline:
        if "pending" not in json.loads(newest.read_text()):
            return
        time.sleep(0.2)


def cold(notebook: Path, plain: float, label: str, goal: str, kernel: float, env=None) -> float:
    """Time `--force` runs of `notebook` (each once the previous one is logged) and print the
    figure beside its floor (one kernel start, the imports once, the critical path of the
    steps' cells: from the last run's records)."""
    runs = notebook.parent / ".nb2pipe" / "runs"
    took = timed(
        [str(BIN / "nb2pipe"), "run", str(notebook), "--force"],
        env=env,
        before=functools.partial(background_logged, runs),
    )
    imports = floor.cell_seconds(notebook.with_name("papermill-out.ipynb"), tag="imports")
    least = floor.of_run(floor.newest_run(runs), kernel, imports, kernels=os.cpu_count() or 1)
    figure(
        label,
        f"{took / plain:.2f}x papermill ({took:.2f} s); {least.says()}: "
        f"{took / least.seconds:.2f}x the floor",
        goal,
    )
    return took


def measure(tmp: Path) -> None:
    # Compile: 20 steps, 300 cells, one process, in-process wall time of the command.
    big = notebooks.write(notebooks.many_cells(300, 20), tmp / "big" / "big.ipynb")
    compile_s = timed([str(BIN / "nb2pipe"), "compile", str(big), "-o", str(tmp / "out")])
    figure("compile 20 steps / 300 cells", f"{compile_s:.2f} s (whole command)", "well < 1 s")

    kernel = floor.kernel_start()
    real = notebooks.write(notebooks.realistic(), tmp / "real" / "real.ipynb")
    real_runs = real.parent / ".nb2pipe" / "runs"
    nb2pipe_run(real, repeat=1)  # creates the project's MLflow store, as a first run does
    plain = papermill(real)
    figure("plain papermill, 200,000 rows x 20, 6 steps", f"{plain:.2f} s", "baseline")
    cold(real, plain, "cold run, 200,000 rows, two branches, tracking on", "<= 0.8x", kernel)
    overlap = branch_overlap(real_runs, ("scaled", "projected"))
    figure(
        "branches side by side (scaled, projected)",
        f"{overlap:.2f} s of overlap in the last cold run",
        "> 0: independent steps run at once",
    )
    rerun = [str(BIN / "nb2pipe"), "run", str(real)]
    settle = functools.partial(background_logged, real_runs)
    warm = timed(rerun, before=settle)
    figure(
        "re-run, nothing changed (the previous run's background logging done)",
        f"{warm / plain:.3f}x papermill ({warm:.2f} s)",
        "<= 0.05x",
    )

    def busy() -> None:  # a cold run just ended: its logging is still going on
        background_logged(real_runs)
        nb2pipe_run(real, "--force", repeat=1)

    warm = timed(rerun, before=busy)
    figure(
        "re-run, nothing changed, right after a cold run (its background logging going on)",
        f"{warm / plain:.3f}x papermill ({warm:.2f} s)",
        "<= 0.05x",
    )

    six = notebooks.write(notebooks.six_steps(), tmp / "six" / "six.ipynb")
    nb2pipe_run(six, repeat=1)
    plain = papermill(six)
    figure("plain papermill, 6,000 rows, 6 steps", f"{plain:.2f} s", "baseline")
    label = "cold run, 6,000 rows, two branches, tracking"
    on = cold(six, plain, f"{label} on", "<= 1.0x", kernel)
    off = cold(six, plain, f"{label} off", "<= 1.0x", kernel, NO_TRACKING)
    figure("tracking on minus tracking off, 6,000 rows", f"{on - off:+.2f} s", "<= 0.2 s")

    cells = notebooks.write(notebooks.many_cells(300, 1), tmp / "cells" / "cells.ipynb")
    pm = [str(BIN / "papermill"), "--no-progress-bar"]
    pm_default = timed(pm + [str(cells), str(tmp / "c1.ipynb")], repeat=1)
    pm_ours = timed(pm + ["--engine", "nb2pipe", str(cells), str(tmp / "c2.ipynb")], repeat=1)
    ours = nb2pipe_run(cells, "--force", env=NO_TRACKING, repeat=1)
    figure("300 cells, papermill default engine", f"{pm_default:.2f} s", "baseline")
    figure(
        "300 cells, papermill --engine nb2pipe",
        f"{pm_ours:.2f} s ({(pm_default - pm_ours) / 300 * 1000:+.1f} ms/cell saved)",
        "no full rewrite per cell",
    )
    figure(
        "300 cells, nb2pipe run (tracking off)",
        f"{ours / pm_default:.2f}x papermill ({ours:.2f} s)",
        "<= 1.0x",
    )
