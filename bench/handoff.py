"""A DataFrame crossing one edge: what a step's save cell and the next step's load cell do,
against the floor — a plain Arrow IPC write and memory-mapped read of the frame.

The 35 MB and 500 MB frames cross within one process, as the figures have always been taken.
The 2 GB frame crosses as it does in a pipeline: one process saves it, a fresh one (the next
step's kernel) loads it and reads every value once; that process's peak RSS is the figure, and
the floor is the same two processes with a plain `write_feather` and `read_table().to_pandas()`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .measure import figure

ROWS = {"35 MB": 218_750, "500 MB": 3_125_000}  # × 20 float64 columns
BIG_ROWS = (2 << 30) // (20 * 8)  # 2 GiB of float64 values, 20 columns

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

WRITE = """
import json, sys, time
import numpy as np, pandas as pd, pyarrow.feather as feather
from nb2pipe import artifacts
rows, folder, how = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rng = np.random.default_rng(0)
frame = pd.DataFrame(rng.random((rows, 20)), columns=[f"f{i}" for i in range(20)])
start = time.perf_counter()
if how == "plain":
    feather.write_feather(frame, folder + "/plain.arrow", compression="uncompressed")
else:
    artifacts.save(folder, "producer", frame=frame)
print(json.dumps({"seconds": time.perf_counter() - start, "bytes": int(frame.memory_usage().sum())}))
"""

READ = """
import json, sys, time
import pandas as pd, pyarrow.feather as feather
from nb2pipe import artifacts
folder, how = sys.argv[1], sys.argv[2]

def high_water(reset=False):
    if reset:  # Linux: the peak RSS starts again from the current RSS
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM:"))

high_water(reset=True)
start = time.perf_counter()
if how == "plain":
    frame = feather.read_table(folder + "/plain.arrow", memory_map=True).to_pandas()
else:
    frame = artifacts.load(folder, "producer", "frame")
took = time.perf_counter() - start
total = float(frame.sum().sum())  # the step reads every value once
print(json.dumps({"seconds": took, "peak": high_water()}))
"""


def _run(script: str, *args: object) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(tmp: Path) -> None:
    for label, rows in ROWS.items():
        t = _run(SCRIPT, rows, tmp)
        figure(
            f"{label} DataFrame crossing one edge (save + sha256 + load)",
            f"{t['ours'] / t['plain']:.2f}x a plain Arrow IPC write + read "
            f"({t['ours']:.2f} s vs {t['plain']:.2f} s)",
            "<= 1.5x",
        )
    crossing = {}
    for how in ("plain", "ours"):
        wrote = _run(WRITE, BIG_ROWS, tmp, how)
        read = _run(READ, tmp, how)
        crossing[how] = {**read, "seconds": wrote["seconds"] + read["seconds"]}
        size = wrote["bytes"]
        if how == "plain":
            (tmp / "plain.arrow").unlink()
    gb = 1 << 30
    plain, ours = crossing["plain"], crossing["ours"]
    figure(
        f"{size / gb:.0f} GB DataFrame crossing an edge: peak RSS of the receiving process",
        f"{ours['peak'] / size:.2f}x the frame ({ours['peak'] / gb:.2f} GB; "
        f"plain Arrow IPC read: {plain['peak'] / size:.2f}x)",
        "<= 1.3x",
    )
    figure(
        f"{size / gb:.0f} GB DataFrame crossing an edge (save + sha256, load in a new process)",
        f"{ours['seconds'] / plain['seconds']:.2f}x a plain Arrow IPC write + read "
        f"({ours['seconds']:.2f} s vs {plain['seconds']:.2f} s)",
        "<= 1.5x",
    )
