"""Compile and run speed against plain papermill on the same notebooks, tracking on as users
get it by default (the store already exists: a project's first run also creates it)."""

from __future__ import annotations

import functools
import json
import os
import time
from pathlib import Path

from . import notebooks
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


def background_logged(runs: Path, limit: float = 120.0) -> None:
    """Wait for the detached processes logging fully cached runs to MLflow (a user re-runs at
    human pace, not three times a second; these would compete with the run measured)."""
    deadline = time.monotonic() + limit
    newest = max(runs.iterdir(), key=lambda p: p.name) / "run.json"
    while time.monotonic() < deadline:
        if "mlflow_synced" in json.loads(newest.read_text()):
            return
        time.sleep(0.2)


def measure(tmp: Path) -> None:
    # Compile: 20 steps, 300 cells, one process, in-process wall time of the command.
    big = notebooks.write(notebooks.many_cells(300, 20), tmp / "big" / "big.ipynb")
    compile_s = timed([str(BIN / "nb2pipe"), "compile", str(big), "-o", str(tmp / "out")])
    figure("compile 20 steps / 300 cells", f"{compile_s:.2f} s (whole command)", "well < 1 s")

    real = notebooks.write(notebooks.realistic(), tmp / "real" / "real.ipynb")
    nb2pipe_run(real, repeat=1)  # creates the project's MLflow store, as a first run does
    plain = papermill(real)
    figure("plain papermill, 200,000 rows x 20, 6 steps", f"{plain:.2f} s", "baseline")
    cold = nb2pipe_run(real, "--force")
    figure(
        "cold run, 200,000 rows, two branches, tracking on",
        f"{cold / plain:.2f}x papermill ({cold:.2f} s)",
        "<= 0.8x",
    )
    overlap = branch_overlap(real.parent / ".nb2pipe" / "runs", ("scaled", "projected"))
    figure(
        "branches side by side (scaled, projected)",
        f"{overlap:.2f} s of overlap in the last cold run",
        "> 0: independent steps run at once",
    )
    settle = functools.partial(background_logged, real.parent / ".nb2pipe" / "runs")
    warm = timed([str(BIN / "nb2pipe"), "run", str(real)], before=settle)
    figure(
        "re-run, nothing changed (the previous run's background logging done)",
        f"{warm / plain:.3f}x papermill ({warm:.2f} s)",
        "<= 0.05x",
    )

    six = notebooks.write(notebooks.six_steps(), tmp / "six" / "six.ipynb")
    nb2pipe_run(six, repeat=1)
    plain = papermill(six)
    figure("plain papermill, 6,000 rows, 6 steps", f"{plain:.2f} s", "baseline")
    for label, env in (("tracking on", None), ("tracking off", NO_TRACKING)):
        cold = nb2pipe_run(six, "--force", env=env)
        figure(
            f"cold run, 6,000 rows, two branches, {label}",
            f"{cold / plain:.2f}x papermill ({cold:.2f} s)",
            "<= 1.0x",
        )

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
