"""Tracking costs: 1,000 metrics through jupyter_mlops vs plain MLflow, and `%load_ext` time.

Each measurement runs in a fresh process against its own embedded SQLite store, so imports
and store creation are paid the same way by both sides and are not counted in the logging time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .measure import figure

N = 1000

OURS = """
import json, sys, time
import jupyter_mlops, mlflow
jupyter_mlops.set_tracking_uri(sys.argv[1])
with jupyter_mlops.start_run("bench"):
    jupyter_mlops.log_metrics(warmup=0.0)
    jupyter_mlops.flush()
    start = time.perf_counter()
    for i in range({n}):
        jupyter_mlops.log_metrics(loss=1.0 / (i + 1), step=i)
    jupyter_mlops.flush()
    print(json.dumps(time.perf_counter() - start))
"""

PLAIN = """
import json, sys, time
import mlflow
mlflow.set_tracking_uri(sys.argv[1])
with mlflow.start_run():
    mlflow.log_metric("warmup", 0.0)
    start = time.perf_counter()
    for i in range({n}):
        mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
    print(json.dumps(time.perf_counter() - start))
"""

LOAD_EXT = """
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
start = time.perf_counter()
shell.run_line_magic("load_ext", "jupyter_mlops")
took = time.perf_counter() - start
assert "mlflow" not in sys.modules
print(json.dumps(took))
"""


def _run(code: str, *args: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(tmp: Path) -> None:
    ours = _run(OURS.format(n=N), f"sqlite:///{tmp / 'ours.db'}")
    plain = _run(PLAIN.format(n=N), f"sqlite:///{tmp / 'plain.db'}")
    figure(
        f"log {N} metrics, jupyter_mlops (batched)",
        f"{ours:.2f} s vs {plain:.1f} s for {N} plain "
        f"mlflow.log_metric calls ({plain / ours:.0f}x faster)",
        "batched, not one call per value",
    )
    load_ext = _run(LOAD_EXT)
    figure(
        "%load_ext jupyter_mlops",
        f"{load_ext * 1000:.0f} ms, mlflow not imported",
        "no mlflow import",
    )
