"""The prediction log of `nb2pipe serve`: one JSON line per prediction.

    {"id": "3f2a9c1b7d4e-0", "ts": 1763800000.0, "model": "wine", "version": "3",
     "inputs": {"alcohol": 13.2, ...}, "prediction": 1}

`drift_report` reads the inputs as the current data; `monitoring` joins labels to the ids.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

DEFAULT_LOG = "predictions.jsonl"
META = ["id", "ts", "model", "version", "prediction"]


class PredictionLog:
    """Appends one JSON line per prediction; lines of concurrent requests never interleave."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def append(self, records: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(r, sort_keys=True, default=str) + "\n" for r in records)
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(text)


def read_lines(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The JSON lines of a log; a torn last line (a process killed mid-write) is skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def is_prediction_log(path: str | os.PathLike) -> bool:
    """Whether `path` is a log written by `nb2pipe serve` (its first line says so)."""
    try:
        with open(path, encoding="utf-8") as f:
            first = json.loads(f.readline() or "null")
    except (OSError, ValueError):
        return False
    return isinstance(first, dict) and {"id", "inputs", "prediction"} <= set(first)


def read_log(path: str | os.PathLike, since: float | None = None):
    """The prediction log as a DataFrame: id, ts, model, version, prediction, then the inputs."""
    import pandas as pd

    rows = []
    for r in read_lines(path):
        if "id" not in r or (since is not None and r.get("ts", 0) < since):
            continue
        inputs = r.get("inputs")
        rows.append(
            {
                "id": r["id"],
                "ts": r.get("ts"),
                "model": r.get("model"),
                "version": r.get("version"),
                "prediction": r.get("prediction"),
                **(inputs if isinstance(inputs, dict) else {"input": inputs}),
            }
        )
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=META)


def logged_inputs(path: str | os.PathLike, since: float | None = None):
    """The inputs the served model was asked about (optionally since epoch time `since`)."""
    frame = read_log(path, since)
    return frame.drop(columns=META)
