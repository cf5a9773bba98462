"""The memory a value costs when it crosses an edge: a ~1 GB scipy sparse matrix and a ~1 GB
XGBoost DMatrix, saved by one process (a step's save cell) and loaded by another (the next
step's load cell). Each side's peak RSS is the kernel's high-water mark (VmHWM) over the save
or the load alone, the value itself included; the goal is 1.5x the value's size, so a
serializer may not build a second copy of the value in memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .measure import figure

NNZ = 1 << 27  # float32 values + int32 column indices: 1 GiB, as scipy and XGBoost hold them
ROWS, COLUMNS = 1 << 20, 5_000  # 128 values a row

SAVE = """
import json, sys
import numpy as np
from scipy import sparse
from nb2pipe import artifacts
kind, nnz, rows, columns, folder = sys.argv[1], *map(int, sys.argv[2:5]), sys.argv[5]
{imports}

def high_water(reset=False):
    if reset:  # Linux: the peak RSS starts again from the current RSS
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM:"))

rng = np.random.default_rng(0)
per_row = nnz // rows
matrix = sparse.csr_matrix(
    (rng.random(nnz, dtype=np.float32), rng.integers(0, columns, nnz, dtype=np.int32),
     np.arange(0, nnz + 1, per_row, dtype=np.int64)),
    shape=(rows, columns),
)
{make}
before = high_water(reset=True)
entry = artifacts.save(folder, "make", value=value)["artifacts"]["value"]
print(json.dumps({{"size": entry["size"], "before": before, "peak": high_water()}}))
"""

LOAD = """
import json, sys
from nb2pipe import artifacts
{imports}
def high_water(reset=False):
    if reset:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM:"))
before = high_water(reset=True)
value = artifacts.load(sys.argv[1], "make", "value")
print(json.dumps({{"before": before, "peak": high_water()}}))
"""

KINDS = {
    "sparse matrix (scipy CSR)": ("from scipy import sparse", "value = matrix"),
    # XGBoost copies the CSR into its own pages; the CSR is dropped before the save.
    "XGBoost DMatrix": ("import xgboost", "value = xgboost.DMatrix(matrix)\ndel matrix"),
}


def _run(script: str, *args: object) -> dict:
    done = subprocess.run([sys.executable, "-c", script, *map(str, args)], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(tmp: Path) -> None:
    gb = 1 << 30
    for label, (imports, make) in KINDS.items():
        folder = tmp / label.split()[0]
        saved = _run(SAVE.format(imports=imports, make=make), label, NNZ, ROWS, COLUMNS, folder)
        loaded = _run(LOAD.format(imports=imports), folder)
        size = saved["size"]
        for side, peak in (("saving", saved["peak"]), ("loading", loaded["peak"])):
            figure(
                f"{size / gb:.2f} GB {label} crossing an edge: peak RSS of the {side} process",
                f"{peak / size:.2f}x its size ({peak / gb:.2f} GB)",
                "<= 1.5x",
            )
