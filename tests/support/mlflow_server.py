"""Helpers for the jupyter_mlops tests: real `mlflow server` processes and small notebooks."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from support.notebooks import code, markdown, write_notebook
from support.servers import (
    NotReady,
    free_port,
    http_ok,
    log_tail,
    start_logged,
    stop_process,
    wait_for,
    wait_ready,
)

__all__ = ["code", "markdown", "wait_for", "write_notebook"]

# How long a starting server may take to answer /health (~30 s normally; slower under load).
HEALTH_TIMEOUT = float(os.environ.get("JUPYTER_MLOPS_TEST_SERVER_TIMEOUT", "90"))


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    root: Path
    log: Path

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.log, lines)


def start_server(root: Path, *extra: str, env: dict[str, str] | None = None) -> Server:
    """`mlflow server` on a free port of 127.0.0.1 (one worker), once /health answers."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    script = Path(sys.executable).with_name("mlflow")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "mlflow"]
    command += [
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination",
        str(root / "artifacts"),
        *extra,
    ]
    log = root / "server.log"
    process = start_logged(
        command,
        log,
        cwd=root,
        stdin=subprocess.DEVNULL,
        # MLflow 3's job runner (eight huey consumers, ~2 GB) serves GenAI jobs we never use.
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **(env or {})},
        start_new_session=True,  # its own process group: stopped with its workers
    )
    server = Server(f"http://127.0.0.1:{port}", process, root, log)
    try:
        wait_ready(
            process,
            lambda: http_ok(f"{server.url}/health"),
            timeout=HEALTH_TIMEOUT,
            name="mlflow server",
            tail=server.log_tail,
        )
    except NotReady:
        stop_server(server)
        raise
    return server


def stop_server(server: Server) -> None:
    """Stop the server's process group: SIGTERM, then SIGKILL if it lingers."""
    stop_process(server.process, group=True)
