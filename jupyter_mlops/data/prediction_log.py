"""The prediction log of `nb2pipe serve`, read: all its parts as one table, or its inputs.

Written by `jupyter_mlops.serving.prediction_log`, one JSON line per prediction:

    {"id": "3f2a9c1b7d4e-0", "ts": 1763800000.0, "model": "wine", "version": "3",
     "model_version": "3", "path": "champion", "latency_ms": 0.41,
     "inputs": {"alcohol": 13.2, ...}, "prediction": 1}

It is read here, below the services that read it: `drift_report` and the schema take the inputs
as the current data (shadow copies left out: they are the same requests again), `monitoring` and
rollouts join labels to the ids. A rotated log is its parts (``<stem>.part-000001.jsonl``, in
order) then the live file, read in one pass by pyarrow (a torn line — a process killed
mid-write — sends that part through a line-by-line reader that skips it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

META = ["id", "ts", "model", "version", "prediction", "model_version", "path", "latency_ms"]


def parts(path: str | os.PathLike) -> list[Path]:
    """The files of a log, oldest first: its rotated parts, then the live file (if any)."""
    path = Path(path)
    rotated = sorted(path.parent.glob(f"{path.stem}.part-[0-9]*{path.suffix}"))
    return rotated + ([path] if path.exists() else [])


def read_lines(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The JSON lines of one file; a torn line (a process killed mid-write) is skipped."""
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
    found = parts(path)
    try:
        with open(found[0] if found else path, encoding="utf-8") as f:
            first = json.loads(f.readline() or "null")
    except (OSError, ValueError):
        return False
    return isinstance(first, dict) and {"id", "inputs", "prediction"} <= set(first)


def _read_part(path: Path):
    """One file of the log as a DataFrame (pyarrow, one pass; line by line if it must)."""
    import pandas as pd

    data = path.read_bytes()
    data = data[: data.rfind(b"\n") + 1]  # a torn last line is still being written
    if not data:
        return pd.DataFrame(columns=META)
    try:
        import io

        import pyarrow as pa
        import pyarrow.json as pj

        table = pj.read_json(io.BytesIO(data)).flatten()
        names = [
            n.removeprefix("inputs.") if n.startswith("inputs.") else n for n in table.column_names
        ]
        frame = table.rename_columns(["input" if n == "inputs" else n for n in names]).to_pandas()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, KeyError):
        frame = _read_slowly(path)
    return frame


def _read_slowly(path: Path):
    import pandas as pd

    rows = []
    for r in read_lines(path):
        if "id" not in r:
            continue
        inputs = r.get("inputs")
        rows.append(
            {
                **{key: r.get(key) for key in META},
                **(inputs if isinstance(inputs, dict) else {"input": inputs}),
            }
        )
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=META)


def read_log(path: str | os.PathLike, since: float | None = None):
    """The prediction log (all its parts) as a DataFrame: id, ts, model, version, prediction,
    then the inputs."""
    import pandas as pd

    frames = [_read_part(p) for p in parts(path)]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=META)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if "id" not in frame.columns:
        return pd.DataFrame(columns=META)
    frame = frame[frame["id"].notna()]
    if since is not None:
        frame = frame[frame["ts"].fillna(0) >= since]
    for key in META:
        if key not in frame.columns:
            frame[key] = None
    frame["version"] = frame["version"].astype(str)
    # Lines written before versions were logged per line were all the champion's.
    frame["model_version"] = (
        frame["model_version"].where(frame["model_version"].notna(), frame["version"]).astype(str)
    )
    frame["path"] = frame["path"].fillna("champion")
    inputs = [c for c in frame.columns if c not in META]
    return frame[META + inputs].reset_index(drop=True)


def logged_inputs(path: str | os.PathLike, since: float | None = None):
    """The inputs the served model was asked about (optionally since epoch time `since`),
    each request once (its shadow copies left out)."""
    frame = read_log(path, since)
    return frame[frame["path"] != "shadow"].drop(columns=META).reset_index(drop=True)
