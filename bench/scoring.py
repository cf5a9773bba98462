"""Scoring at scale: `nb2pipe score` of 1,000,000 raw rows through a model published with its
notebook's serve cells, in bounded memory.

The workload is the wine notebook of tests/support/features.py (ratios, one-hot columns with fixed
categories, a training mean, a fitted scaler), run and published for real. Memory is the
resident set of the scoring process, sampled every 5 ms while it scores: its peak above what
the loaded model holds, for the 1,000,000-row file and for a file of exactly one chunk. The goal
is that the big file costs less than twice the one chunk: memory bounded by the chunk, not by
the file. A sample of the scored rows is compared with the served model's own predictions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .measure import BIN, figure

ROWS = 1_000_000
CHUNK = 50_000
SAMPLE = 1_000

# One scoring process: load the model, then score while a thread samples the resident set.
SCORE = """
import json, sys, threading, time
from pathlib import Path
from jupyter_mlops.serving.models import load
from jupyter_mlops.serving.batch import score_file

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE

PAGE = __import__("os").sysconf("SC_PAGE_SIZE")
spec, uri, data, out, chunk = sys.argv[1:6]
pyfunc = load(spec, uri).pyfunc
loaded = rss()
peak = [loaded]
done = threading.Event()

def watch():
    while not done.wait(0.005):
        peak[0] = max(peak[0], rss())

threading.Thread(target=watch, daemon=True).start()
began = time.perf_counter()
scored = score_file(pyfunc, Path(data), Path(out), chunk_rows=int(chunk))
seconds = time.perf_counter() - began
done.set()
peak[0] = max(peak[0], rss())
print(json.dumps({"rows": scored.rows, "seconds": seconds, "loaded": loaded, "peak": peak[0]}))
"""

CHECK = """
import json, sys
import numpy as np, pandas as pd
from jupyter_mlops.serving.models import load
spec, uri, out, sample = sys.argv[1:5]
pyfunc = load(spec, uri).pyfunc
scored = pd.read_csv(out)
rows = scored.iloc[:: len(scored) // int(sample)]
served = pyfunc.predict(rows.drop(columns=["prediction"]).reset_index(drop=True))
print(json.dumps({"rows": len(scored), "sample": len(rows),
                  "equal": bool(np.array_equal(np.asarray(served), rows["prediction"].to_numpy()))}))
"""


def _run(args: list, cwd: Path, env: dict) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{args[:3]} failed: {done.stderr.strip()[-500:]}")
    return done.stdout


def _score(spec: str, uri: str, data: Path, out: Path, folder: Path, env: dict) -> dict:
    lines = _run(
        [sys.executable, "-c", SCORE, spec, uri, data, out, CHUNK], folder, env
    ).splitlines()
    return json.loads(lines[-1])


def measure(tmp: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    import featurekit  # the tests' notebooks with serve cells: the same workload

    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    env = {**os.environ, "NB2PIPE_NO_TRACKING": "1", "MLFLOW_TRACKING_URI": uri}
    notebook = featurekit.wine(tmp)
    _run([BIN / "nb2pipe", "run", notebook.name], tmp, env)
    _run([BIN / "nb2pipe", "publish", notebook.name, "--name", "bench-wine"], tmp, env)
    spec = "bench-wine@challenger"
    big, chunk = tmp / "wines.csv", tmp / "one-chunk.csv"
    rows = featurekit.wine_rows(ROWS, seed=11)
    rows.to_csv(big, index=False)
    rows.head(CHUNK).to_csv(chunk, index=False)
    one = _score(spec, uri, chunk, tmp / "one-chunk-scored.csv", tmp, env)
    whole = _score(spec, uri, big, tmp / "scored.csv", tmp, env)
    mb = 1024 * 1024
    above_one = (one["peak"] - one["loaded"]) / mb
    above_whole = (whole["peak"] - whole["loaded"]) / mb
    figure(
        f"score {ROWS:,} raw rows (csv, serve cells + model, chunks of {CHUNK:,})",
        f"{whole['seconds']:.1f}s, {ROWS / whole['seconds']:,.0f} rows/s",
        "streams; as fast as the model allows",
    )
    figure(
        "score peak memory above the loaded model",
        f"{above_whole:.0f} MB for {ROWS:,} rows, {above_one:.0f} MB for one chunk: "
        f"{above_whole / above_one:.2f}x one chunk (model loaded: {whole['loaded'] / mb:.0f} MB)",
        "< 2x one chunk",
    )
    check = json.loads(
        _run([sys.executable, "-c", CHECK, spec, uri, tmp / "scored.csv", SAMPLE], tmp, env)
        .strip()
        .splitlines()[-1]
    )
    figure(
        "scored predictions vs the served model's, on a sample",
        f"{check['sample']:,} of {check['rows']:,} rows: {'equal' if check['equal'] else 'DIFFER'}",
        "equal",
    )
