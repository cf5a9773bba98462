"""Helpers of the server tests: the tagged notebook they run, and a client of the live server."""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from support.notebooks import code, markdown, write_notebook
from support.servers import (
    free_port,
    jupyter_command,
    log_tail,
    start_logged,
    stop_process,
    wait_ready,
)

__all__ = ["code", "free_port", "markdown", "write_notebook"]

TOKEN = "mlops-test-token"
PAGING_EXPERIMENT = "paging"
PAGING_RUNS = 120  # pipeline runs
PAGING_NESTED_PARENTS = 3  # of which the first 3 have step runs
PAGING_STEPS = 5
FINAL = ("succeeded", "failed", "cancelled", "interrupted")


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


@dataclass
class Server:
    url: str  # http://127.0.0.1:PORT/
    root: Path
    outside: Path  # a folder beside the root, reachable only by escaping it
    tracking_uri: str
    log: Path

    def request(self, method: str, route: str, *, token: str | None = TOKEN, **kwargs):
        """A request to the sidebar's routes, `/mlops/<route>`."""
        return self.jupyter(method, f"mlops/{route}", token=token, **kwargs)

    def jupyter(self, method: str, path: str, *, token: str | None = TOKEN, **kwargs):
        """A request to any route of the Jupyter server (`api/contents/…`)."""
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"token {token}"
        kwargs.setdefault("timeout", 120)
        return requests.request(method, f"{self.url}{path}", headers=headers, **kwargs)

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
        return log_tail(self.log, lines)


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
    command = jupyter_command("jupyter_server", port, TOKEN, root, *options)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI containers run as root
    process = start_logged(command, log, cwd=root, env=env)
    url = f"http://127.0.0.1:{port}/"
    running = Server(url, root, outside, tracking_uri, log)

    def answering() -> bool:
        headers = {"Authorization": f"token {TOKEN}"}
        return requests.get(f"{url}api/status", headers=headers, timeout=5).status_code == 200

    try:
        wait_ready(
            process,
            answering,
            timeout=90,
            interval=0.2,
            errors=(requests.ConnectionError,),
            name="jupyter server",
            tail=running.log_tail,
        )
        yield running
    finally:
        stop_process(process)
