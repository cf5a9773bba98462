"""A real JupyterLab server with the extension, and headless Debian Chromium driven by Playwright.

Chromium comes from Debian (`apt-get install -y chromium`); Playwright's own browser download
(`playwright install`) cannot work here, so the browser is launched by path. Without Chromium,
or without the built labextension, the UI tests skip on a developer's machine and fail in CI
(env CI set): a missing browser must never turn CI green.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.servers import (
    NotReady,
    free_port,
    jupyter_command,
    start_logged,
    stop_process,
    wait_ready,
)
from uikit import (  # noqa: F401  (re-exported to the test modules' fixtures)
    CHROMIUM_ARGS,
    LABEXTENSION_BUILD,
    LABEXTENSION_SRC,
    NOTEBOOK,
    REPO,
    RUNNER_FOLDER,
    RUNNER_NOTEBOOK,
    SCREENSHOTS,
    SERVER_START_TIMEOUT,
    VIEWPORT,
    _unavailable,
    write_runner_notebook,
)


def _newest_mtime(folder: Path) -> float:
    return max((p.stat().st_mtime for p in folder.rglob("*") if p.is_file()), default=0.0)


def _build_is_stale() -> bool:
    built = LABEXTENSION_BUILD / "package.json"
    if not built.exists():
        return True
    sources = [LABEXTENSION_SRC / "src", LABEXTENSION_SRC / "style"]
    sources_time = max(
        [_newest_mtime(s) for s in sources] + [(LABEXTENSION_SRC / "package.json").stat().st_mtime]
    )
    return sources_time > built.stat().st_mtime


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        _unavailable("chromium is not installed (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright Python package is not installed")
    return path


@pytest.fixture(scope="session")
def labextension(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A labextensions folder holding the freshly built `jupyter-mlops` (built here if stale)."""
    if _build_is_stale():
        npm = shutil.which("npm")
        if npm is None:
            _unavailable("the labextension is not built and npm is missing (make labextension)")
        install = "ci" if (LABEXTENSION_SRC / "package-lock.json").exists() else "install"
        for command in ([npm, install, "--no-audit", "--no-fund"], [npm, "run", "build:prod"]):
            if command[1] == install and (LABEXTENSION_SRC / "node_modules").is_dir():
                continue
            done = subprocess.run(command, cwd=LABEXTENSION_SRC, capture_output=True, text=True)
            if done.returncode != 0:
                pytest.fail(
                    f"{' '.join(command[1:])} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
                )
    folder = tmp_path_factory.mktemp("labextensions")
    (folder / "jupyter-mlops").symlink_to(LABEXTENSION_BUILD, target_is_directory=True)
    return folder


@dataclass
class Lab:
    """A running JupyterLab or Notebook 7 server: its address, token, root folder and log."""

    url: str
    token: str
    root: Path
    log: Path

    def api(self, path: str) -> dict:
        request = urllib.request.Request(
            f"{self.url}{path}", headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())

    def post(self, path: str, body: dict, timeout: float = 180) -> dict:
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return json.loads(answer.read())


# The classes that read each app's labextensions, settings and workspaces options. Notebook 7
# (`notebook`) is a LabServerApp as JupyterLab is, and the jupyterlab server extension loaded
# beside it serves /lab/extensions/: both must know the freshly built labextension.
_APP_CLASSES = {"jupyterlab": ("LabApp",), "notebook": ("JupyterNotebookApp", "LabApp")}


def jupyter_app_command(app: str, port: int, token: str, home: Path, labextension: Path):
    """`jupyter lab` (app "jupyterlab") or Notebook 7's `jupyter notebook` (app "notebook") on
    127.0.0.1:`port`, rooted in `home`/root, with the server extension and the freshly built
    labextension, and settings and workspaces of their own under `home`."""
    options = []
    for klass in _APP_CLASSES[app]:
        options += [
            f"--{klass}.extra_labextensions_path={labextension}",
            f"--{klass}.user_settings_dir={home / 'settings'}",
            f"--{klass}.workspaces_dir={home / 'workspaces'}",
        ]
    return jupyter_command(
        app,
        port,
        token,
        home / "root",
        "--ServerApp.allow_root=True",
        '--ServerApp.jpserver_extensions={"jupyter_mlops": True}',
        *options,
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        # window.jupyterapp: the tests show the sidebar with its command, not a toggling click
        "--LabApp.expose_app_in_browser=True",
        # no --ContentsManager.allow_hidden: the step links open executed notebooks (under the
        # hidden .nb2pipe/) through the extension's own route, as in a plain `jupyter lab`
    )


def _root_with_runner(home: Path) -> Path:
    """`home`/root: a copy of the example notebook, and the runner folder (its own copy of the
    example beside the notebook whose cell runs it); quiet notification settings."""
    root = home / "root"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    # The cell's run gets its own folder, so its own workspace and cache: runs from the
    # sidebar's tests must not find its steps cached.
    (root / RUNNER_FOLDER).mkdir()
    shutil.copy(NOTEBOOK, root / RUNNER_FOLDER / NOTEBOOK.name)
    write_runner_notebook(root / RUNNER_FOLDER / RUNNER_NOTEBOOK, NOTEBOOK.name)
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    # no "would you like news?" toast over the screenshots, no update check on a closed network
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    return root


@contextlib.contextmanager
def serving(app: str, home: Path, labextension: Path) -> Iterator[Lab]:
    """Start `app` (see jupyter_app_command) in `home` with its own MLflow store and Jupyter
    folders; yield it once it and the extension's routes answer; stop it."""
    root = _root_with_runner(home)
    port = free_port()
    token = uuid.uuid4().hex
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}",
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        # nothing of the user's JupyterLab state reaches the server (the options above win too)
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("MLFLOW_EXPERIMENT_NAME", None)
    log = home / "jupyter.log"
    command = jupyter_app_command(app, port, token, home, labextension)
    server = start_logged(command, log, cwd=root, env=env)
    found = Lab(f"http://127.0.0.1:{port}", token, root, log)

    def answering() -> bool:
        found.api("/api/status")
        found.api("/mlops/grammar")
        return True

    try:
        wait_ready(
            server,
            answering,
            timeout=SERVER_START_TIMEOUT,
            name=f"jupyter {app}",
            tail=lambda: log.read_text()[-4000:],
        )
        yield found
    except NotReady as problem:
        pytest.fail(str(problem))
    finally:
        stop_process(server)


@pytest.fixture(scope="session")
def lab(labextension: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """`jupyter lab` on a free 127.0.0.1 port, rooted in a copy of the example notebook."""
    with serving("jupyterlab", tmp_path_factory.mktemp("lab"), labextension) as found:
        yield found


@pytest.fixture(scope="module")
def notebook7(labextension: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Classic Notebook 7 (`jupyter notebook`) on a free 127.0.0.1 port, rooted as `lab` is."""
    with serving("notebook", tmp_path_factory.mktemp("notebook7"), labextension) as found:
        yield found


@pytest.fixture(scope="session")
def browser(chromium_path: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
