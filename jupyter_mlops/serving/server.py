"""`nb2pipe serve MODEL[@alias]`: a registered model over REST, every prediction logged.

The model is pinned to the version the alias names at start-up and loaded with
`mlflow.pyfunc`; requests speak MLflow's scoring protocol (``POST /invocations`` with
``dataframe_split``, ``dataframe_records``, ``instances`` or ``inputs`` JSON, CSV or Parquet;
``GET /ping``, ``/health``, ``/version``), parsed by MLflow's own scoring-server functions.
On top of it, each prediction gets an id, returned beside it (``prediction_ids``), and one
JSON line in the prediction log:

    {"id": "...", "ts": 1763800000.0, "model": "wine", "version": "3",
     "inputs": {"alcohol": 13.2, ...}, "prediction": 1}

The log is what `drift_report` reads as the current data, and what ground truth is joined to
(``POST /feedback`` with ``{"prediction_id": ..., "label": ...}``, or `record_feedback`).
The server listens on 127.0.0.1 unless told otherwise; it has no authentication. The HTTP
layer is scoring.py, the log prediction_log.py; this module finds and loads the model, runs
the server until a signal, and starts one in its own process (`start_server`) or in a thread
of this one (`serve_in_thread`).
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

from jupyter_mlops.registry.promote import CHAMPION
from jupyter_mlops.serving.front import TIMEOUT
from jupyter_mlops.serving.http import ModelServer, jsonable
from jupyter_mlops.serving.prediction_log import DEFAULT_LOG
from jupyter_mlops.serving.prediction_log import MAX_BYTES as MAX_LOG_BYTES
from jupyter_mlops.tracking.redact import redact_uri
from nb2pipe.errors import Nb2PipeError

READY_TIMEOUT = 120.0


class ServingError(Nb2PipeError):
    """The model cannot be served: unknown model, alias or version, or a server that failed."""


@dataclass
class ServedModel:
    name: str
    version: str
    alias: str | None
    run_id: str | None = None

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    def __str__(self) -> str:
        alias = f" (alias {self.alias})" if self.alias else ""
        return f"{self.name} version {self.version}{alias}"


def parse_spec(spec: str) -> tuple[str, str | None, str | None]:
    """``name``, ``name@alias``, ``name/3`` or ``models:/…`` → (name, alias, version)."""
    text = spec.removeprefix("models:/").strip()
    if "@" in text:
        name, _, alias = text.partition("@")
        version = None
    elif "/" in text:
        name, _, version = text.partition("/")
        alias = None
    else:
        name, alias, version = text, CHAMPION, None
    if not name or (alias is not None and not alias) or (version is not None and not version):
        raise ServingError(f"{spec!r}: give a model as NAME, NAME@ALIAS or NAME/VERSION")
    return name, alias, version


def resolve(spec: str, tracking_uri: str | None = None) -> ServedModel:
    """The registered version `spec` names, or a one-line `ServingError`."""
    from mlflow.exceptions import MlflowException

    from jupyter_mlops.errors import translated
    from jupyter_mlops.tracking import config, store

    name, alias, version = parse_spec(spec)
    uri = tracking_uri or config.tracking_uri()
    with translated(f"read model {name!r}", uri):
        client = store.client(uri)
        try:
            model = client.get_registered_model(name)
        except MlflowException as e:
            if e.error_code == "RESOURCE_DOES_NOT_EXIST":
                raise ServingError(
                    f"no registered model named {name!r} in {redact_uri(uri)}"
                ) from None
            raise
        try:
            found = (
                client.get_model_version_by_alias(name, alias)
                if alias
                else client.get_model_version(name, version)
            )
        except MlflowException as e:
            if e.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                raise
            if alias:
                known = ", ".join(sorted(model.aliases or {})) or "none"
                raise ServingError(
                    f"model {name!r} has no alias {alias!r} (aliases: {known})"
                ) from None
            raise ServingError(f"model {name!r} has no version {version!r}") from None
    return ServedModel(name, str(found.version), alias, found.run_id)


# --- the server ------------------------------------------------------------------------------


def load(spec: str, tracking_uri: str | None = None) -> tuple[ServedModel, Any]:
    """Resolve `spec` and load that version with mlflow.pyfunc."""
    from jupyter_mlops.errors import translated
    from jupyter_mlops.tracking import config, store

    uri = tracking_uri or config.tracking_uri()
    model = resolve(spec, uri)
    with translated(f"load model {model.name!r}", uri), store.fluent_uri(uri):
        import mlflow.pyfunc

        return model, mlflow.pyfunc.load_model(model.uri)


def serve(
    spec: str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    log: str | os.PathLike = DEFAULT_LOG,
    tracking_uri: str | None = None,
    timeout: float = TIMEOUT,
    log_max_bytes: int = MAX_LOG_BYTES,
    echo=print,
) -> None:
    """Serve `spec` until SIGINT or SIGTERM (what `nb2pipe serve` runs)."""
    model, pyfunc = load(spec, tracking_uri)
    try:
        server = ModelServer(
            model, pyfunc, log, host, port, timeout=timeout, log_max_bytes=log_max_bytes
        )
    except OSError as e:
        raise ServingError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    server.start()
    echo(f"serving {model} at {server.url}; predictions logged to {server.log.path}")
    try:
        while not stop.wait(1.0):
            pass
    finally:
        server.stop()
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
    server: ModelServer
    log: Path

    def stop(self) -> None:
        self.server.stop()


def serve_in_thread(
    spec: str,
    *,
    log: str | os.PathLike = DEFAULT_LOG,
    port: int = 0,
    tracking_uri: str | None = None,
) -> ThreadServer:
    """Serve `spec` on 127.0.0.1 (a free port unless given) from a thread of this process."""
    model, pyfunc = load(spec, tracking_uri)
    server = ModelServer(model, pyfunc, log, "127.0.0.1", port).start()
    return ThreadServer(server.url, server, server.log.path)


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
) -> ServerProcess:
    """Start ``nb2pipe serve`` in its own process on 127.0.0.1; return once it answers /ping."""
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
