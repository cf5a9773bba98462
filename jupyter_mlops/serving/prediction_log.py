"""The prediction log of `nb2pipe serve`, written: one JSON line per prediction.

    {"id": "3f2a9c1b7d4e-0", "ts": 1763800000.0, "model": "wine", "version": "3",
     "model_version": "3", "path": "champion", "latency_ms": 0.41,
     "inputs": {"alcohol": 13.2, ...}, "prediction": 1}

``model_version`` is the version that made the prediction and ``path`` how the request reached
it (champion, canary, or shadow: a mirrored copy, whose line carries the id of the answer the
client got). Reading it back is `jupyter_mlops.data.prediction_log`'s job (drift, schemas,
monitoring and rollouts read it there).

The log is written to its path until it passes `max_bytes`; it is then moved aside as a part
(``<stem>.part-000001.jsonl``, numbered in order) and a new one starts, so no file grows
without bound and a reader can skip old parts. Predictions and feedback are appended under one
lock, a thread lock plus an advisory file lock, so lines of concurrent writers never interleave.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jupyter_mlops.data.prediction_log import parts, read_log

DEFAULT_LOG = "predictions.jsonl"
MAX_BYTES = 64 * 1024 * 1024
_PART = re.compile(r"\.part-(\d{6})$")


class PredictionLog:
    """Appends one JSON line per prediction (and feedback beside it); rotates by size."""

    def __init__(self, path: str | os.PathLike, max_bytes: int = MAX_BYTES):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._issued: dict[str, int] | None = None  # request id -> rows: the ids it gave out

    @contextmanager
    def locked(self):
        """This process's writers and any other process's, one at a time."""
        with self._lock, open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def append(self, records: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(r, sort_keys=True, default=str) + "\n" for r in records)
        with self.locked():
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(text)
                size = f.tell()
            if self._issued is not None:
                for record in records:
                    _note(self._issued, str(record.get("id", "")))
            if size >= self.max_bytes:
                self._rotate()

    def _rotate(self) -> None:
        numbers = [int(m.group(1)) for p in parts(self.path) if (m := _PART.search(p.stem))]
        target = self.path.with_name(
            f"{self.path.stem}.part-{max(numbers, default=0) + 1:06d}{self.path.suffix}"
        )
        os.replace(self.path, target)

    def unknown(self, ids: list[str]) -> list[str]:
        """The ids among `ids` this log never issued."""
        with self._lock:
            if self._issued is None:
                issued: dict[str, int] = {}
                for known in read_log(self.path)["id"].astype(str):
                    _note(issued, known)
                self._issued = issued
            return [i for i in ids if not _issued_id(self._issued, i)]

    def feedback(self, lines: str, target: Path) -> None:
        """Append feedback `lines` to `target` under the log's lock."""
        with self.locked(), open(target, "a", encoding="utf-8") as f:
            f.write(lines)


def _note(issued: dict[str, int], prediction_id: str) -> None:
    request, _, row = prediction_id.rpartition("-")
    if row.isdigit():
        issued[request] = max(issued.get(request, 0), int(row) + 1)
    else:
        issued[prediction_id] = 0


def _issued_id(issued: dict[str, int], prediction_id: str) -> bool:
    request, _, row = str(prediction_id).rpartition("-")
    if row.isdigit() and int(row) < issued.get(request, 0):
        return True
    return issued.get(str(prediction_id)) == 0
