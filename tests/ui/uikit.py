"""What the UI tests share besides fixtures: paths, the browser's flags, and the rule that a
missing browser fails under CI. Its own module, not conftest: several test folders have a
conftest.py, and `from conftest import` picks whichever was imported first."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

from servers import unavailable

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "example_notebooks" / "breast_cancer_diagnosis.ipynb"
LABEXTENSION_SRC = REPO / "labextension"
LABEXTENSION_BUILD = REPO / "jupyter_mlops" / "labextension"
# Pictures land in build/ (a test run leaves the tree clean); `make screenshots` copies them
# into docs/screenshots/, where the documentation shows them.
SCREENSHOTS = REPO / "build" / "screenshots"
VIEWPORT = {"width": 1440, "height": 900}
SERVER_START_TIMEOUT = 120.0

# Without the background-networking flags Chromium floods a closed network with connections.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


RUNNER_FOLDER = "from_a_cell"
RUNNER_NOTEBOOK = "run_from_a_cell.ipynb"


SIDEBAR_TAB = 'li[data-id="jupyter-mlops-sidebar"]'


def open_sidebar(page) -> None:
    """Show the jupyter-mlops sidebar. Its tab toggles it, and JupyterLab restores the layout an
    earlier page of the same server saved: a sidebar left open there is open here already."""
    page.locator(SIDEBAR_TAB).wait_for()
    if "lm-mod-current" not in (page.locator(SIDEBAR_TAB).get_attribute("class") or ""):
        page.locator(SIDEBAR_TAB).click()
    page.locator('[data-testid="mlops-sidebar"]').wait_for()


def write_runner_notebook(path: Path, pipeline: str) -> None:
    """A notebook whose one cell runs `pipeline` with the live ipywidgets view."""
    cell = {
        "cell_type": "code",
        "execution_count": None,
        "id": "run-cell",
        "metadata": {},
        "outputs": [],
        "source": f"%load_ext jupyter_mlops\n%mlops run {pipeline} -p C=0.5",
    }
    notebook = {
        "cells": [cell],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook, indent=1))


@contextlib.contextmanager
def opened(browser, url: str, ready: str, timeout_ms: float = 30_000):
    """A page of its own at `url` (VIEWPORT), yielded once `ready` shows; closed after."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_default_timeout(timeout_ms)
        page.goto(url)
        page.locator(ready).first.wait_for()
        yield page
    finally:
        context.close()


LIVE_RUN_VIEW = ".jp-mlops-live-run"  # the class of the cell's live run view (widgets/live_run.py)
STEP_STATUSES = {"pending", "running", "done", "cached"}


def watch_live_run(page, timeout_s: float, while_running=None) -> tuple[str, set[str]]:
    """Read the live run view every 250 ms until the run has ended and its MLflow run is
    linked (the view says "logging the run to MLflow…" until then), or `timeout_s` passes.
    Return its last text and every step status seen on the way; call `while_running()` once,
    the first time the run and a step are both seen running."""
    view = page.locator(LIVE_RUN_VIEW)
    seen: set[str] = set()
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        text = view.inner_text()
        words = set(text.split())
        seen |= words & STEP_STATUSES
        if while_running is not None and text.split().count("running") >= 2:
            while_running()  # the run's badge and a step's
            while_running = None
        if {"succeeded", "failed"} & words and "logging" not in words:
            break
        page.wait_for_timeout(250)
    return text, seen


_unavailable = unavailable  # the name the UI fixtures and the wheel test use
