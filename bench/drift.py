"""Drift at scale: `drift_report` of 1,000,000 rows x 100 features (and 356,000 x 50, the size
Evidently's issue #763 reports at 3 minutes), timed in a fresh process with the frames already
in memory: what a monitoring job pays per check."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .measure import figure

TIMED = """
import json, sys, time
import numpy as np, pandas as pd
from jupyter_mlops.data.drift import drift_report
rows, features = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
names = [f"f{i}" for i in range(features)]
reference = pd.DataFrame(rng.normal(size=(rows, features)), columns=names)
current = pd.DataFrame(rng.normal(size=(rows, features)), columns=names)
current["f0"] += 0.5  # one feature really drifted
drift_report(reference.head(1000), current.head(1000))  # imports (scipy) out of the timing
start = time.perf_counter()
report = drift_report(reference, current)
took = time.perf_counter() - start
print(json.dumps({"seconds": took, "drifted": report.drifted_features}))
"""


def _run(rows: int, features: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", TIMED, str(rows), str(features)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(tmp: Path) -> None:
    for rows, features, goal in ((356_000, 50, "Evidently: 3 min"), (1_000_000, 100, "<= 5 s")):
        found = _run(rows, features)
        figure(
            f"drift, {rows:,} rows x {features} features",
            f"{found['seconds']:.2f} s (drifted: {', '.join(found['drifted']) or 'none'})",
            goal,
        )
