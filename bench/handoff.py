"""A DataFrame crossing one edge: what a step's save cell and the next step's load cell do,
against the floor — a plain in-process Arrow IPC write and memory-mapped read of the frame."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .measure import figure

ROWS = {"35 MB": 218_750, "500 MB": 3_125_000}  # × 20 float64 columns

SCRIPT = """
import json, statistics, sys, time
import numpy as np, pandas as pd, pyarrow.feather as feather
from nb2pipe import artifacts
rows, folder = int(sys.argv[1]), sys.argv[2]
frame = pd.DataFrame(np.random.default_rng(0).normal(size=(rows, 20)),
                     columns=[f"f{i}" for i in range(20)])

def plain():
    path = folder + "/plain.arrow"
    feather.write_feather(frame, path, compression="uncompressed")
    return feather.read_table(path, memory_map=True).to_pandas()

def ours():
    artifacts.save(folder, "producer", frame=frame)
    return artifacts.load(folder, "producer", "frame")

times = {"plain": [], "ours": []}
for _ in range(3):
    for name, edge in (("plain", plain), ("ours", ours)):
        start = time.perf_counter()
        edge()
        times[name].append(time.perf_counter() - start)
print(json.dumps({k: statistics.median(v) for k, v in times.items()}))
"""


def measure(tmp: Path) -> None:
    for label, rows in ROWS.items():
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(rows), str(tmp)],
            check=True,
            capture_output=True,
            text=True,
        )
        t = json.loads(out.stdout.strip().splitlines()[-1])
        figure(
            f"{label} DataFrame crossing one edge (save + sha256 + load)",
            f"{t['ours'] / t['plain']:.2f}x a plain Arrow IPC write + read "
            f"({t['ours']:.2f} s vs {t['plain']:.2f} s)",
            "<= 1.5x",
        )
