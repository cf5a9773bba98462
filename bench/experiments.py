"""The Experiments panel's first page with 10,000 pipeline runs of 5 step runs each.

The store is an embedded SQLite file made by MLflow (its schema, its experiment) and filled
with rows written straight into MLflow's tables in one transaction: 60,000 `create_run` calls
would take most of an hour, and filling the store is not what is measured. The page is read
in a fresh process the way the route reads it (`tracking.read.list_runs`: pipeline runs only,
newest first, the sidebar's page of 20), against the peer: the same page of plain
`search_runs` over every run, step runs included (what the panel asked before).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

from .measure import REPEAT, figure

PIPELINE_RUNS = 10_000
STEPS = ("load", "features", "train", "evaluate", "publish")
PAGE = 20
GOAL_S = 0.5

PAGE_READ = """
import json, statistics, sys, time
from mlflow.tracking import MlflowClient
from jupyter_mlops.tracking import read

uri, experiment, kind, repeat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
client = MlflowClient(tracking_uri=uri)
client.get_experiment(experiment)  # the connection and the schema check, as a warm server has
took = []
for _ in range(repeat):
    start = time.perf_counter()
    page = read.list_runs(client, experiment, {page}, None, "attributes.start_time DESC", "", kind)
    took.append(time.perf_counter() - start)
assert len(page["runs"]) == {page}, len(page["runs"])
print(json.dumps({{"median": statistics.median(took), "kinds": sorted(
    {{r["tags"].get("nb2pipe.kind", "") for r in page["runs"]}})}}))
"""


def make_store(folder: Path) -> tuple[str, str]:
    """A SQLite store holding PIPELINE_RUNS pipeline runs, each with len(STEPS) step runs."""
    from mlflow.tracking import MlflowClient

    db = folder / "mlflow.db"
    uri = f"sqlite:///{db}"
    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("bench", artifact_location=(folder / "art").as_uri())
    runs, tags, metrics, params = [], [], [], []
    start = 1_700_000_000_000
    for i in range(PIPELINE_RUNS):
        parent = uuid.uuid4().hex
        when = start + i * 60_000
        nb2pipe_id = f"20260101-{i:06d}-bench"
        rows = [(parent, f"pipe {nb2pipe_id}", None)]
        rows += [(uuid.uuid4().hex, step, parent) for step in STEPS]
        for run_id, name, parent_id in rows:
            runs.append(
                (run_id, name, "NOTEBOOK", "pipe.ipynb", "", "bench", "FINISHED", when,
                 when + 30_000, "", "active", f"{folder}/art/{run_id}", int(experiment))
            )  # fmt: skip
            tags += [("mlflow.runName", name, run_id), ("nb2pipe.run_id", nb2pipe_id, run_id)]
            if parent_id:  # as runlog tags them: only pipeline runs carry nb2pipe.kind
                tags += [("mlflow.parentRunId", parent_id, run_id), ("nb2pipe.step", name, run_id)]
            else:
                tags.append(("nb2pipe.kind", "pipeline", run_id))
            value = (i % 997) / 997
            metrics.append(("accuracy", value, when, 0, 0, run_id))
            params.append(("C", str(i % 10), run_id))
    with sqlite3.connect(db) as con:
        con.executemany("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,NULL)", runs)
        con.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?,?,?)", tags)
        con.executemany(
            "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
            "VALUES (?,?,?,?,?,?)",
            metrics,
        )
        con.executemany(
            "INSERT INTO metrics (key, value, timestamp, step, is_nan, run_uuid) "
            "VALUES (?,?,?,?,?,?)",
            metrics,
        )
        con.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?,?,?)", params)
    return uri, experiment


def _page(uri: str, experiment: str, kind: str) -> dict:
    code = PAGE_READ.format(page=PAGE)
    out = subprocess.run(
        [sys.executable, "-c", code, uri, experiment, kind, str(max(REPEAT, 3))],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(tmp: Path) -> None:
    uri, experiment = make_store(tmp)
    ours = _page(uri, experiment, "pipeline")
    assert ours["kinds"] == ["pipeline"], ours
    plain = _page(uri, experiment, "all")
    runs = PIPELINE_RUNS * (1 + len(STEPS))
    figure(
        f"experiments first page ({PIPELINE_RUNS:,} pipeline runs, {runs:,} runs in all)",
        f"{ours['median']:.3f} s; plain search_runs of a page {plain['median']:.3f} s "
        f"({ours['median'] / plain['median']:.1f}x)",
        f"< {GOAL_S} s",
    )
