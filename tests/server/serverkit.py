"""Helpers of the server tests: the tagged notebook they run, and a client of the live server."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

TOKEN = "mlops-test-token"
PAGING_EXPERIMENT = "paging"
PAGING_RUNS = 120
FINAL = ("succeeded", "failed", "cancelled", "interrupted")


def code(source: str, *tags: str) -> dict:
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {"tags": list(tags)} if tags else {},
        "outputs": [],
        "source": source,
    }


def markdown(source: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def write_notebook(path: Path, *cells: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "cells": list(cells),
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


PIPE_CELLS = (
    markdown("# Toy regression\n\nPredicts y from x."),
    code("rows = 200\nshift = 0.0  # moves x and the colour mix\npause = 0.0", "parameters"),
    code(
        "import time\nimport numpy as np\nimport pandas as pd\n"
        "from sklearn.linear_model import LinearRegression",
        "imports",
    ),
    code(
        "rng = np.random.default_rng(0)\n"
        "x = rng.normal(shift, 1.0, rows)\n"
        "colour = np.where(rng.random(rows) < (0.2 if shift else 0.8), 'red', 'blue')\n"
        "df = pd.DataFrame({'x': x, 'colour': colour, 'y': 2 * x + rng.normal(0, 0.1, rows)})\n"
        "df['note'] = [None if i % 10 == 0 else 'ok' for i in range(rows)]",
        "step:load",
    ),
    code(
        "print('training', flush=True)  # the cancel test waits for this in log.txt\n"
        "time.sleep(pause)\nmodel = LinearRegression().fit(df[['x']], df['y'])",
        "step:train",
    ),
    # Only values a later step reads become artifacts: evaluate makes `model` one.
    code("predicted = model.predict(df[['x']])", "step:evaluate"),
    code("r2 = float(model.score(df[['x']], df['y']))", "metrics"),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str  # http://127.0.0.1:PORT/
    root: Path
    outside: Path  # a folder beside the root, reachable only by escaping it
    tracking_uri: str
    log: Path

    def request(self, method: str, route: str, *, token: str | None = TOKEN, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"token {token}"
        kwargs.setdefault("timeout", 120)
        return requests.request(method, f"{self.url}mlops/{route}", headers=headers, **kwargs)

    def get(self, route: str, **kwargs):
        return self.request("GET", route, **kwargs)

    def post(self, route: str, body: Any = None, **kwargs):
        return self.request("POST", route, json=body, **kwargs)

    def delete(self, route: str, **kwargs):
        return self.request("DELETE", route, **kwargs)

    def wait_run(self, run_id: str, timeout: float = 240, until=None) -> dict:
        """Poll GET runs/<id> until `until(status)` holds (default: the run is over)."""
        until = until or (lambda s: s["status"] in FINAL)
        deadline = time.monotonic() + timeout
        while True:
            answer = self.get(f"runs/{run_id}")
            assert answer.status_code == 200, answer.text
            status = answer.json()
            if until(status):
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run_id} still {status} after {timeout} s")
            time.sleep(0.3)

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def make_root(root, outside) -> None:
    """The server root: the tagged notebook, a broken one, and two symlinks leading out."""
    write_notebook(root / "pipe.ipynb", *PIPE_CELLS)
    write_notebook(
        root / "bad.ipynb",
        code("a = 1", "step:load"),
        code("b = undefined_name + a", "step:train"),
    )
    write_notebook(outside / "secret.ipynb", code("a = 1", "step:load"))
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "link.ipynb").symlink_to(outside / "secret.ipynb")


@contextlib.contextmanager
def jupyter_server(factory, tracking_uri: str, *options: str, env: dict | None = None):
    # jupyter_server 2.x leaves `allow_unauthenticated_access` on by default: without the
    # handlers' own @tornado.web.authenticated, nothing would stop a request without a token.
    """A `jupyter server` process with the extension enabled, stopped at the end."""
    root, outside = factory.mktemp("root"), factory.mktemp("outside")
    make_root(root, outside)
    config = factory.mktemp("jupyter-config")
    # The editable install has no etc/ file: enable the extension the way that file would.
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"jupyter_mlops": True}}})
    )
    overrides = env or {}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "NB2PIPE_"))}
    env.update(overrides)
    env.update(
        MLFLOW_TRACKING_URI=tracking_uri,
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_RUNTIME_DIR=str(factory.mktemp("runtime")),
        PYTHONUNBUFFERED="1",
    )
    port = free_port()
    log = root.parent / f"jupyter-server-{port}.log"
    command = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={TOKEN}",
        *options,
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI containers run as root
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    running = Server(url, root, outside, tracking_uri, log)
    deadline = time.monotonic() + 90
    try:
        while True:
            if process.poll() is not None:
                raise AssertionError(f"jupyter server exited:\n{running.log_tail()}")
            try:
                answer = requests.get(
                    f"{url}api/status", headers={"Authorization": f"token {TOKEN}"}, timeout=5
                )
                if answer.status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"jupyter server not up after 90 s:\n{running.log_tail()}")
            time.sleep(0.2)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
