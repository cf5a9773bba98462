"""The built wheel as a user installs it: a fresh venv, plain `jupyter lab`, the sidebar.

`uv build --wheel` builds the project (the labextension prebuilt inside), `uv venv` + `uv pip
install` put the wheel and its requirements into a fresh environment, and `jupyter lab` starts
with no extra flags: its port, token and (as root) `allow_root` come from a config file, as a
user's own would; `allow_hidden` stays off. The example runs from the sidebar's Run button,
and a step's executed notebook opens read-only. Without uv, npm or Chromium this test skips on
a developer's machine and fails in CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from support.servers import NotReady, free_port, start_logged, stop_process, wait_ready
from uikit import NOTEBOOK, REPO, _unavailable, show_sidebar

# building, installing and one pipeline run: minutes on a loaded 2-core machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

STEPS = ["load", "scaled_features", "poly_features", "train", "evaluate"]


def uv() -> list[str]:
    for command in ([sys.executable, "-m", "uv"], ["python3", "-m", "uv"], ["uv"]):
        try:
            done = subprocess.run([*command, "--version"], capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            return command
    _unavailable("uv is not installed (python3 -m pip install uv)")
    raise AssertionError("unreachable")


def run(command: list[str], **kwargs) -> None:
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command[:4])}… failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv holding the built wheel and its requirements; its bin folder."""
    if shutil.which("npm") is None:
        _unavailable("npm is needed to build the wheel's labextension")
    tool = uv()
    folder = tmp_path_factory.mktemp("wheel")
    run([*tool, "build", "--wheel", "--out-dir", str(folder / "dist"), str(REPO)], timeout=900)
    [wheel] = (folder / "dist").glob("jupyter_mlops-*.whl")
    venv = folder / "venv"
    run([*tool, "venv", "--quiet", "--python", sys.executable, str(venv)], timeout=300)
    python = venv / "bin" / "python"
    lock = REPO / "requirements" / "dev.lock"
    run(
        [*tool, "pip", "install", "--quiet", "--python", str(python), str(wheel), "-c", str(lock)],
        timeout=900,
    )
    return venv / "bin"


@pytest.fixture(scope="module")
def plain_lab(installed: Path, tmp_path_factory):
    home = tmp_path_factory.mktemp("plain-lab")
    root = home / "root"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    config = home / "config"
    config.mkdir()
    port, token = free_port(), uuid.uuid4().hex
    # what a user's ~/.jupyter/jupyter_server_config.json would say; nothing about hidden files
    server = {"ip": "127.0.0.1", "port": port, "open_browser": False,
              "IdentityProvider": {"token": token}}  # fmt: skip
    if os.geteuid() == 0:
        server["allow_root"] = True
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": server, "IdentityProvider": {"token": token}})
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "JUPYTER"))},
        "PATH": f"{installed}:{os.environ.get('PATH', '')}",
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "VIRTUAL_ENV": str(installed.parent),
    }
    log = home / "jupyter.log"
    process = start_logged([str(installed / "jupyter"), "lab"], log, cwd=root, env=env)
    url = f"http://127.0.0.1:{port}"

    def answering() -> bool:
        request = urllib.request.Request(
            f"{url}/mlops/grammar", headers={"Authorization": f"token {token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status == 200

    try:
        wait_ready(process, answering, timeout=180, name="jupyter lab", tail=log.read_text)
        yield url, token, log
    except NotReady as problem:
        pytest.fail(str(problem))
    finally:
        stop_process(process)


def test_the_wheel_runs_the_example_and_opens_a_step_read_only(plain_lab, browser):
    url, token, log = plain_lab
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{url}/lab/tree/{NOTEBOOK.name}?token={token}")
        page.locator(".jp-Notebook .jp-Cell").first.wait_for()
        show_sidebar(page)
        page.locator('[data-testid="mlops-run"]:not([disabled])').wait_for()
        page.locator('[data-testid="mlops-run"]').click()
        status = page.locator('[data-testid="mlops-run-status"]')
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if status.count() and status.get_attribute("data-status") in ("succeeded", "failed"):
                break
            page.wait_for_timeout(500)
        assert status.get_attribute("data-status") == "succeeded", log.read_text()[-3000:]
        # the run view shows the run's name; its id is the view's data-run-id
        run_id = page.locator('[data-testid="mlops-run-view"]').get_attribute("data-run-id")
        page.locator('[data-testid="mlops-step-open-train"]').click()
        tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=f"train · {run_id}")
        tab.wait_for()
        shown = page.frame_locator('[data-testid="mlops-executed-notebook"]:visible iframe')
        assert shown.locator("h1.nb-title").inner_text() == f"train · {run_id}"
        assert page.locator(".jp-NotebookPanel:visible").count() == 0
    finally:
        context.close()
