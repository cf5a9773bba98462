"""What every ``/mlops/`` handler shares: JSON in and out, one-line errors, work off the loop.

Errors reach the sidebar as ``{"error": "<one line>"}`` with a 4xx status (5xx only for our own
bugs). Messages and logs pass through `safe`, which strips credentials (a ``user:password@``
in a tracking URI, the values of secret environment variables) and the server root's path.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
import traceback
import warnings
from dataclasses import dataclass, field
from http.client import responses
from pathlib import Path
from typing import Any

import tornado
from jupyter_server.base.handlers import APIHandler
from tornado.ioloop import IOLoop

from jupyter_mlops.credentials import redact, redact_logs
from nb2pipe.fileio import plain

STATE = "jupyter_mlops"  # key of the extension's state in the web app's settings

# MLflow's error codes (MlflowException.error_code) → our status.
_MLFLOW_STATUS = {
    "RESOURCE_DOES_NOT_EXIST": 404,
    "NOT_FOUND": 404,
    "INVALID_PARAMETER_VALUE": 400,
    "BAD_REQUEST": 400,
    "INVALID_STATE": 409,
    "RESOURCE_ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403,
    "UNAUTHENTICATED": 403,  # the *server's* MLflow login failed; not the browser's Jupyter one
}


class ApiError(tornado.web.HTTPError):
    """A request refused with `status` and a one-line reason for the user."""

    def __init__(self, status: int, message: str):
        super().__init__(status)
        self.message = message


@dataclass
class ServerState:
    """What the extension keeps between requests: one per Jupyter server."""

    root: Path
    runs: dict[str, Any] = field(default_factory=dict)  # nb2pipe run id -> runs.LiveRun
    lock: threading.Lock = field(default_factory=threading.Lock)
    # publish/promote go through the process-wide tracking session: one at a time.
    _uri: str | None = None

    @property
    def tracking_uri(self) -> str:
        """The server's tracking URI (never the caller's), resolved from the server root."""
        if self._uri is None:
            from jupyter_mlops.tracking import config

            self._uri = config.tracking_uri(self.root)
        return self._uri

    def client(self):
        """An MlflowClient for the server's store (imports mlflow on first use)."""
        from jupyter_mlops.tracking import store

        # One import for every thread: store.client waits for it. Two request threads importing
        # mlflow at once can see half-initialised modules.
        store.import_in_background()
        return store.client(self.tracking_uri)


def safe(text: str, root: Path | None = None) -> str:
    """`text` without credentials, and with paths inside the server root made relative."""
    text = redact(str(text))
    if root is not None:
        text = text.replace(f"{os.path.realpath(root)}{os.sep}", "")
    return text


_redacting = False


def redact_credentials(*loggers: logging.Logger) -> None:
    """Keep credentials out of the server's log, whoever writes them (once per process).

    MLflow quotes the URL it failed to reach, ``user:password@`` included, in its exception
    messages, and those travel on into warnings (e.g. "run not tracked: ...") and log records.
    """
    global _redacting
    redact_logs(*loggers)
    if _redacting:
        return
    _redacting = True
    shown = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        shown(safe(str(message)), category, filename, lineno, file, line)

    warnings.showwarning = showwarning


def one_line(text: str, limit: int = 400) -> str:
    line = next((part.strip() for part in str(text).splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def describe(exc: BaseException | None, status: int) -> tuple[int, str]:
    """The status and one-line message a failed request answers with."""
    from nb2pipe.errors import Nb2PipeError

    if isinstance(exc, ApiError):
        return exc.status_code, exc.message
    if isinstance(exc, tornado.web.HTTPError):
        message = exc.log_message or exc.reason or responses.get(exc.status_code, "error")
        return exc.status_code, message
    if isinstance(exc, Nb2PipeError):
        kind = type(exc).__name__
        if kind == "RegistryPermissionError":
            return 403, str(exc)
        if kind == "ArtifactError":
            return 404, str(exc)
        return 400, str(exc)
    code = getattr(exc, "error_code", None)
    if code is not None and type(exc).__module__.startswith("mlflow"):
        message = getattr(exc, "message", None) or str(exc)
        return _MLFLOW_STATUS.get(code, 502), f"tracking store: {message}"
    if exc is None:
        return status, responses.get(status, "error")
    return 500, f"internal error ({type(exc).__name__}): {exc}"


class MlopsHandler(APIHandler):
    """Base of every ``/mlops/`` handler (each method is ``@tornado.web.authenticated``)."""

    @property
    def state(self) -> ServerState:
        return self.settings[STATE]

    def body(self) -> dict[str, Any]:
        """The request's JSON object body."""
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise ApiError(400, "the request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, "the request body must be a JSON object")
        return data

    def int_argument(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get_query_argument(name, None)
        if raw in (None, ""):
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(400, f"{name}: not a whole number: {raw[:40]!r}") from None
        if not low <= value <= high:
            raise ApiError(400, f"{name}: must be between {low} and {high}")
        return value

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(plain(data), allow_nan=False))

    async def blocking(self, function, /, *args, **kwargs):
        """Run `function` in a worker thread: MLflow, pandas and compiling never block the loop."""
        call = functools.partial(function, *args, **kwargs)
        return await IOLoop.current().run_in_executor(None, call)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = (kwargs.get("exc_info") or (None, None, None))[1]
        status, message = describe(exc, status_code)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": one_line(safe(message, self.state_root()))}))

    def log_exception(self, typ, value, tb) -> None:
        status, message = describe(value, 500)
        where = f"{self.request.method} {self.request.path}"  # never the query: it may hold a token
        if status == 500:  # our bug: the traceback helps; a store that is down (502) does not
            text = "".join(traceback.format_exception(typ, value, tb))
            self.log.error("mlops: %s failed:\n%s", where, safe(text))
        else:
            self.log.warning("mlops: %s: %d %s", where, status, one_line(safe(message)))

    def state_root(self) -> Path | None:
        state = self.settings.get(STATE)
        return state.root if state is not None else None
