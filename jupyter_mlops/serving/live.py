"""The versions a server answers with right now, and which request goes to which.

`Live` holds the champion and, for a canary or a shadow, the challenger. A swap replaces one
reference: a request reads both once when it starts and is answered wholly by what it read,
so no request sees half a swap, and the old version is dropped when its last request ends.

Routing (`Routing`):
- ``champion``: every request from the champion;
- ``canary``: `share` percent from the challenger: per request at random, or, with a `key`
  column, per row by a stable hash of its key (the same key always lands on the same side);
- ``shadow``: every request answered by the champion and sent to the challenger as well, by
  one background thread, so the client never waits for the challenger.

Every prediction is one line of the prediction log with the version that made it
(``model_version``), its ``path`` (champion, canary or shadow) and ``latency_ms``, the time the
model took on its request (its predict and its answer's JSON: what differs between versions,
where parsing the request does not); a shadow line carries the id of the champion's answer, so
feedback on that id scores both.
"""

from __future__ import annotations

import queue
import random
import threading
import time
import uuid
import zlib
from dataclasses import dataclass
from typing import Any

from jupyter_mlops.serving import scoring
from jupyter_mlops.serving.models import Loaded
from jupyter_mlops.serving.prediction_log import PredictionLog

MODES = ("champion", "canary", "shadow")
SHADOW_QUEUE = 1000  # requests waiting for the challenger; past that they are counted, dropped


@dataclass(frozen=True)
class Routing:
    mode: str = "champion"
    share: float = 0.0  # canary: percent of requests (or keys) for the challenger
    key: str | None = None  # canary: the column whose value picks the side

    def __str__(self) -> str:
        if self.mode == "canary":
            by = f" by {self.key!r}" if self.key else " of requests"
            return f"canary: {self.share:g}%{by} from the challenger"
        return "shadow: every request mirrored to the challenger" if self.mode == "shadow" else ""


def bucket(value: Any) -> float:
    """A key's place in [0, 100): the same in every process and on every machine."""
    return zlib.crc32(str(value).encode("utf-8")) % 10_000 / 100


@dataclass
class Answer:
    body: dict[str, Any]
    versions: list[str]  # the versions that answered, in the order of their first row


class Live:
    """The served versions, the routing between them, and the prediction log."""

    def __init__(self, champion: Loaded, log: PredictionLog, routing: Routing | None = None):
        routing = routing or Routing()
        self.champion: Loaded = champion
        self.challenger: Loaded | None = None
        self.routing = routing
        self.log = log
        self.shadow = ShadowStats()
        self._shadow_queue: queue.Queue | None = None
        if routing.mode == "shadow":
            self._shadow_queue = queue.Queue(SHADOW_QUEUE)
            threading.Thread(target=self._shadow_loop, name="nb2pipe-shadow", daemon=True).start()

    def swap(self, role: str, loaded: Loaded | None) -> None:
        """Point `role` (champion or challenger) at `loaded`: one reference, replaced."""
        if role == "champion":
            assert loaded is not None
            self.champion = loaded
        else:
            self.challenger = loaded

    # --- answering -----------------------------------------------------------------------
    def answer(self, body: bytes, content_type: str) -> Answer:
        champion, challenger, routing = self.champion, self.challenger, self.routing
        data, params = scoring.parse(body, content_type, champion.input_schema)
        inputs = scoring.rows(data)
        count = len(inputs)
        request = uuid.uuid4().hex[:12]
        ids = [f"{request}-{i}" for i in range(count)]
        canary = self._canary_rows(data, count) if challenger and routing.mode == "canary" else None
        if canary is None or not any(canary):
            sides = [(champion, "champion", None)]
        elif all(canary):
            sides = [(challenger, "canary", None)]
        else:
            sides = [
                (champion, "champion", [not c for c in canary]),
                (challenger, "canary", canary),
            ]
        predictions: list[Any] = [None] * count
        answered_by: list[str] = [""] * count
        paths: list[str] = [""] * count
        latencies: list[float] = [0.0] * count
        whole = None
        for loaded, path, mask in sides:
            part = data if mask is None else scoring.take(data, mask)
            began = time.perf_counter()
            got = scoring.predictions_json(scoring.predict(loaded.pyfunc, part, params))
            took = round((time.perf_counter() - began) * 1000, 3)
            where = range(count) if mask is None else [i for i in range(count) if mask[i]]
            if mask is None:
                whole = got
            for i, p in zip(where, scoring.split_rows(got, len(where)), strict=True):
                predictions[i], answered_by[i], paths[i], latencies[i] = (
                    p,
                    loaded.version,
                    path,
                    took,
                )
        now = time.time()
        name = champion.model.name
        self.log.append(
            [
                line(
                    ids[i],
                    now,
                    name,
                    answered_by[i],
                    paths[i],
                    inputs[i],
                    predictions[i],
                    latencies[i],
                )
                for i in range(count)
            ]
        )
        versions = list(dict.fromkeys(answered_by)) or [champion.version]
        body_out: dict[str, Any] = {
            "predictions": whole if whole is not None else predictions,
            "prediction_ids": ids,
            "model": {"name": name, "version": versions[0]},
        }
        if len(versions) > 1:
            body_out["model_versions"] = answered_by
        if challenger is not None and routing.mode == "shadow" and self._shadow_queue is not None:
            self._mirror(challenger, data, params, ids, inputs)
        return Answer(body_out, versions)

    def _canary_rows(self, data: Any, count: int) -> list[bool]:
        share, key = self.routing.share, self.routing.key
        if key is not None and hasattr(data, "columns") and key in data.columns:
            return [bucket(v) < share for v in data[key].tolist()]
        pick = random.random() * 100 < share  # one draw: the whole request goes one way
        return [pick] * count

    # --- shadow --------------------------------------------------------------------------
    def _mirror(self, challenger: Loaded, data, params, ids, inputs) -> None:
        try:
            self._shadow_queue.put_nowait((challenger, data, params, ids, inputs))
        except queue.Full:
            self.shadow.dropped += 1

    def _shadow_loop(self) -> None:
        while True:
            challenger, data, params, ids, inputs = self._shadow_queue.get()
            began = time.perf_counter()
            try:
                raw = scoring.predict(challenger.pyfunc, data, params)
                got = scoring.split_rows(scoring.predictions_json(raw), len(ids))
            except Exception as e:  # noqa: BLE001 - the challenger's failure never reaches clients
                self.shadow.failed += 1
                self.shadow.last_error = f"{type(e).__name__}: {' '.join(str(e).split())[:200]}"
                continue
            finally:
                self._shadow_queue.task_done()
            latency = round((time.perf_counter() - began) * 1000, 3)
            now = time.time()
            name = challenger.model.name
            self.log.append(
                [
                    line(i, now, name, challenger.version, "shadow", row, p, latency)
                    for i, row, p in zip(ids, inputs, got, strict=True)
                ]
            )
            self.shadow.mirrored += 1

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until the shadow has answered every mirrored request (tests, shutdown)."""
        if self._shadow_queue is None:
            return True
        deadline = time.monotonic() + timeout
        while self._shadow_queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self._shadow_queue.unfinished_tasks

    def describe(self) -> dict[str, Any]:
        """What `/version` says: the live versions and the routing."""
        champion, challenger = self.champion, self.challenger
        out: dict[str, Any] = {
            "name": champion.model.name,
            "version": champion.version,
            "alias": champion.model.alias,
            "mode": self.routing.mode,
            "challenger": challenger.version if challenger else None,
        }
        if self.routing.mode == "canary":
            out["canary"] = {"share": self.routing.share, "key": self.routing.key}
        if self.routing.mode == "shadow":
            out["shadow"] = self.shadow.as_dict()
        return out


@dataclass
class ShadowStats:
    mirrored: int = 0
    failed: int = 0
    dropped: int = 0
    last_error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "mirrored": self.mirrored,
            "failed": self.failed,
            "dropped": self.dropped,
            "last_error": self.last_error or None,
        }


def line(
    prediction_id: str,
    ts: float,
    name: str,
    version: str,
    path: str,
    inputs: Any,
    prediction: Any,
    latency_ms: float,
) -> dict[str, Any]:
    """One prediction as a line of the log."""
    return {
        "id": prediction_id,
        "ts": ts,
        "model": name,
        "version": version,
        "model_version": version,
        "path": path,
        "latency_ms": latency_ms,
        "inputs": inputs,
        "prediction": prediction,
    }
