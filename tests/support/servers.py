"""Server processes of the tests (`mlflow server`, `jupyter server`, `jupyter lab`): a free
port, starting with a log file, waiting until they answer, stopping them.

Importable as `servers` from any test module (tests/conftest.py puts tests/ on sys.path).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


class NotReady(RuntimeError):
    """A server process exited, or did not answer in time."""


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (as of now)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def log_tail(log: Path, lines: int = 30) -> str:
    """The last `lines` lines of a log file ("" if it cannot be read)."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def start_logged(command: list[str], log: Path, **popen: Any) -> subprocess.Popen:
    """Start `command` with its stdout and stderr written to the file `log`."""
    with open(log, "wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, **popen)


def http_ok(url: str, timeout: float = 2) -> bool:
    """True if GET `url` answers 200 (errors, 4xx and 5xx raise OSError)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status == 200


def wait_ready(
    process: subprocess.Popen,
    probe: Callable[[], Any],
    *,
    timeout: float,
    interval: float = 0.5,
    errors: tuple[type[BaseException], ...] = (OSError,),
    name: str = "server",
    tail: Callable[[], str] = lambda: "",
) -> None:
    """Poll `probe()` until it returns something truthy; an exception of `errors` means "not
    yet". Raise NotReady, with `tail()` (the end of its log), if `process` exits first or
    `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise NotReady(f"{name} exited ({process.returncode}):\n{tail()}")
        try:
            if probe():
                return
        except errors:
            pass
        if time.monotonic() > deadline:
            raise NotReady(f"{name} not ready after {timeout:.0f} s:\n{tail()}")
        time.sleep(interval)


def stop_process(process: subprocess.Popen, *, group: bool = False, timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL if it lingers after `timeout` seconds. With `group`, the whole
    process group the process leads (started with `start_new_session=True`) gets the signals."""
    if group:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
    else:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        if group:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        else:
            process.kill()
            process.wait()


def jupyter_command(app: str, port: int, token: str, root: Path, *options: str) -> list[str]:
    """`python -m <app>` (jupyter_server, jupyterlab) on 127.0.0.1:`port` and only there, with
    no browser, the given token and root folder, then `options`."""
    return [
        sys.executable,
        "-m",
        app,
        "--no-browser",
        f"--ServerApp.ip={HOST}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        *options,
    ]


def wait_for(predicate: Callable[[], Any], timeout: float = 90.0, interval: float = 0.25):
    """Poll `predicate` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {predicate}")


def unavailable(reason: str) -> None:
    """A prerequisite (browser, server, podman, Airflow, tmpfs) is missing: skip on a
    developer's machine, fail under CI (env CI set), where a skip would guard nothing."""
    import pytest

    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: this test must run)", pytrace=False)
    pytest.skip(reason)
