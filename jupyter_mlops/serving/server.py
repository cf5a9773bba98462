"""`nb2pipe serve MODEL[@alias]`: a registered model over REST that follows its alias, every
prediction logged.

``NAME`` or ``NAME@ALIAS`` is followed: when the alias moves, the new version is loaded beside
the old one, checked here, and swapped in (follow.py). ``NAME/VERSION`` stays pinned. With
``canary`` a share of requests goes to ``@challenger``, with ``shadow`` all of them are
mirrored to it (live.py). Requests speak MLflow's scoring protocol (``POST /invocations`` with
``dataframe_split``, ``dataframe_records``, ``instances`` or ``inputs`` JSON, CSV or Parquet;
``GET /ping``, ``/health``, ``/version``), parsed by MLflow's own scoring-server functions
(scoring.py). On top of it, each prediction gets an id, returned beside it
(``prediction_ids``), and one JSON line in the prediction log:

    {"id": "...", "ts": 1763800000.0, "model": "wine", "version": "3", "model_version": "3",
     "path": "champion", "latency_ms": 0.4, "inputs": {"alcohol": 13.2, ...}, "prediction": 1}

The log is what `drift_report` reads as the current data, and what ground truth is joined to
(``POST /feedback`` with ``{"prediction_id": ..., "label": ...}``, or `record_feedback`).
The server listens on 127.0.0.1 unless told otherwise; it has no authentication. This module
puts the parts together (models, live, http, front, follow), runs the server until a signal,
and starts one in its own process (`start_server`) or in a thread of this one
(`serve_in_thread`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_mlops.registry.promote import CHALLENGER
from jupyter_mlops.serving.errors import ServingError
from jupyter_mlops.serving.follow import INTERVAL, Follower
from jupyter_mlops.serving.front import TIMEOUT, Front
from jupyter_mlops.serving.http import App
from jupyter_mlops.serving.live import Live, Routing
from jupyter_mlops.serving.models import ServedModel, load, parse_spec, resolve
from jupyter_mlops.serving.prediction_log import DEFAULT_LOG, PredictionLog
from jupyter_mlops.serving.prediction_log import MAX_BYTES as MAX_LOG_BYTES
from jupyter_mlops.serving.scoring import jsonable

__all__ = ["ServedModel", "ServingError", "parse_spec", "resolve", "serve", "start_server"]
READY_TIMEOUT = 120.0
CHAMPION_ONLY = Routing()


def routing_for(canary: float | None, canary_key: str | None, shadow: bool) -> Routing:
    """The routing the options ask for, or a one-line `ServingError`."""
    if canary is not None and shadow:
        raise ServingError("--canary and --shadow: choose one")
    if canary_key is not None and canary is None:
        raise ServingError("--canary-key needs --canary PERCENT")
    if canary is not None:
        if not 0 < canary <= 100:
            raise ServingError(f"--canary {canary:g}: give a percentage above 0, at most 100")
        return Routing("canary", float(canary), canary_key)
    return Routing("shadow") if shadow else Routing()


class Service:
    """A model server put together: the live versions, the HTTP app, the front, the follower."""

    def __init__(
        self,
        spec: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log: str | os.PathLike = DEFAULT_LOG,
        tracking_uri: str | None = None,
        timeout: float = TIMEOUT,
        log_max_bytes: int = MAX_LOG_BYTES,
        routing: Routing = CHAMPION_ONLY,
        interval: float = INTERVAL,
        budget_ms: float | None = None,
        echo=print,
    ):
        from jupyter_mlops.tracking import config

        uri = tracking_uri or config.tracking_uri()
        name, alias, _ = parse_spec(spec)
        champion = load(spec, uri)
        self.live = Live(champion, PredictionLog(log, log_max_bytes), routing)
        self.app = App(self.live)
        try:
            self.front = Front(self.app, host, port, timeout=timeout)
        except OSError as e:
            raise ServingError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
        followed = {"champion": alias} if alias else {}
        if routing.mode != "champion":
            followed["challenger"] = CHALLENGER
        self.follower = None
        if followed:
            self.follower = Follower(
                self.live,
                uri,
                followed,
                interval=interval,
                budget_ms=budget_ms,
                echo=echo,
                where=f"nb2pipe serve at {self.front.url}",
            )
        self.echo = echo

    @property
    def url(self) -> str:
        return self.front.url

    def start(self) -> Service:
        if self.follower is not None and "challenger" in self.follower.aliases:
            self.follower.poll()  # the challenger is checked before it takes any traffic
        self.front.start()
        if self.follower is not None:
            self.follower.start()
        return self

    def describe(self) -> str:
        m = self.live.champion.model
        routing = f"; {self.live.routing}" if self.live.routing.mode != "champion" else ""
        following = (
            f"; following alias {m.alias!r} every {self.follower.interval:g}s"
            if self.follower is not None and m.alias
            else "; pinned"
        )
        return (
            f"serving {m} at {self.url}{following}{routing}; predictions logged to "
            f"{self.live.log.path}"
        )

    def stop(self) -> None:
        if self.follower is not None:
            self.follower.stop()
        self.front.stop()
        self.live.drain(10)
        self.app.close()


def serve(spec: str, *, echo=print, **options: Any) -> None:
    """Serve `spec` until SIGINT or SIGTERM (what `nb2pipe serve` runs); `options` are
    `Service`'s."""
    # This process is the server: a registry that does not answer is an outage to report and
    # wait out, polled again in a few seconds; MLflow's own retries (7, backing off for
    # minutes) would only hide it. Two quick ones cover a kept-alive connection the registry
    # closed. No progress bars in the server's output. A user's own settings win.
    for key, value in (
        ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2"),
        ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1"),
        ("MLFLOW_HTTP_REQUEST_TIMEOUT", "10"),
        ("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false"),
    ):
        os.environ.setdefault(key, value)
    service = Service(spec, echo=echo, **options)
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        service.start()
        echo(service.describe())
        while not stop.wait(1.0):
            pass
    finally:
        service.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    echo("stopped")


# --- a server process, for notebooks and tests -----------------------------------------------


class Client:
    """What a notebook or a test needs to talk to a running server at `url`."""

    url: str

    def predict(self, frame) -> dict[str, Any]:
        """POST `frame` (dataframe_split) to /invocations; the server's JSON answer."""
        payload = {"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}
        return self._post("/invocations", payload)

    def live(self) -> dict[str, Any]:
        """What `/version` says: the live versions and the routing."""
        with urllib.request.urlopen(self.url + "/version", timeout=30) as response:
            return json.loads(response.read())

    def feedback(self, prediction_ids, labels) -> dict[str, Any]:
        """POST the true labels of earlier predictions to /feedback."""
        items = [
            {"prediction_id": i, "label": jsonable(v) if hasattr(v, "tolist") else v}
            for i, v in zip(prediction_ids, labels, strict=True)
        ]
        return self._post("/feedback", {"feedback": items})

    def _post(self, route: str, payload: dict) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url + route,
            data=json.dumps(payload, default=jsonable).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as e:
            raise ServingError(f"{route}: HTTP {e.code}: {e.read().decode()[:300]}") from None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass
class ThreadServer(Client):
    """The server in a thread of this process (a notebook's kernel): no second mlflow import."""

    url: str
    service: Service
    log: Path

    def stop(self) -> None:
        self.service.stop()


def serve_in_thread(
    spec: str,
    *,
    log: str | os.PathLike = DEFAULT_LOG,
    port: int = 0,
    tracking_uri: str | None = None,
    echo=lambda line: None,
    **options: Any,
) -> ThreadServer:
    """Serve `spec` on 127.0.0.1 (a free port unless given) from a thread of this process."""
    service = Service(
        spec, log=log, port=port, tracking_uri=tracking_uri, echo=echo, **options
    ).start()
    return ThreadServer(service.url, service, service.live.log.path)


@dataclass
class ServerProcess(Client):
    """An `nb2pipe serve` process on 127.0.0.1."""

    url: str
    process: subprocess.Popen
    log: Path
    output: Path

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then SIGKILL if it lingers; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    spec: str,
    *,
    log: str | os.PathLike = DEFAULT_LOG,
    port: int | None = None,
    tracking_uri: str | None = None,
    output: str | os.PathLike | None = None,
    timeout: float = READY_TIMEOUT,
    client_timeout: float = TIMEOUT,
    log_max_bytes: int = MAX_LOG_BYTES,
    options: tuple[str, ...] = (),
) -> ServerProcess:
    """Start ``nb2pipe serve`` in its own process on 127.0.0.1; return once it answers /ping.
    `options`: more of the command's options (``("--canary", "20")``)."""
    from jupyter_mlops.tracking import config

    port = port or free_port()
    log = Path(log).resolve()
    output = Path(output) if output else log.with_name(log.stem + ".server.txt")
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri or config.tracking_uri()}
    command = [
        sys.executable,
        "-c",
        "from nb2pipe.cli import main; main(prog_name='nb2pipe')",
        "serve",
        spec,
        "--port",
        str(port),
        "--log",
        str(log),
        "--timeout",
        str(client_timeout),
        "--log-max-bytes",
        str(log_max_bytes),
        *options,
    ]
    with open(output, "wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
    server = ServerProcess(f"http://127.0.0.1:{port}", process, log, output)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            lines = output.read_text(errors="replace").strip().splitlines()
            raise ServingError(lines[-1] if lines else f"the server exited ({process.returncode})")
        try:
            with urllib.request.urlopen(server.url + "/ping", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise ServingError(f"the server did not answer on {server.url} within {timeout:.0f}s")
