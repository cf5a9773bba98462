"""`%mlops run` in classic Notebook 7 (`jupyter notebook`): the live ipywidgets view of a
pipeline run, as JupyterLab shows it (tests/ui/test_notebook_widget.py).

The server is the same jupyter_server with the `jupyter_mlops` extension and the built
labextension, rooted like the lab's: `from_a_cell/` holds `run_from_a_cell.ipynb` (and a copy of
the example), whose one cell runs the example pipeline. The view's step statuses change while it
runs, then it shows "succeeded", the metrics, and the MLflow run, which the server's own MLflow
route finds with the same metrics.
"""

from __future__ import annotations

import re

import pytest
from support.servers import wait_for
from uikit import (
    LIVE_RUN_VIEW,
    RUNNER_FOLDER,
    RUNNER_NOTEBOOK,
    opened,
    watch_live_run,
)

pytestmark = pytest.mark.slow

STEPS = ["load", "scaled_features", "poly_features", "train", "evaluate"]
RUN_TIMEOUT_S = 240
KERNEL_START_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def page(browser, notebook7):
    url = f"{notebook7.url}/notebooks/{RUNNER_FOLDER}/{RUNNER_NOTEBOOK}?token={notebook7.token}"
    with opened(browser, url, ".jp-NotebookPanel .jp-Cell") as page:
        yield page


def _kernel_idle(notebook7) -> bool:
    return any(
        session["path"].endswith(f"{RUNNER_FOLDER}/{RUNNER_NOTEBOOK}")
        and (session.get("kernel") or {}).get("execution_state") == "idle"
        for session in notebook7.api("/api/sessions")
    )


def test_a_cell_runs_the_pipeline_with_a_live_view_in_notebook7(page, notebook7, screenshots):
    assert page.locator("#main-panel .jp-NotebookPanel").count() == 1  # Notebook 7's one-doc shell
    # the page's kernel has started (the server says so) and the page shows it idle
    wait_for(lambda: _kernel_idle(notebook7), timeout=KERNEL_START_TIMEOUT_S)
    page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').first.wait_for(
        timeout=KERNEL_START_TIMEOUT_S * 1000
    )
    page.locator(".jp-NotebookPanel .jp-Cell .jp-InputArea-editor").first.click()
    page.keyboard.press("Shift+Enter")
    page.locator(LIVE_RUN_VIEW).wait_for(timeout=120_000)
    text, seen = watch_live_run(page, RUN_TIMEOUT_S)
    words = text.split()
    assert "succeeded" in words, text
    # statuses changed while it ran: steps were seen pending or running before done
    assert {"pending", "running"} & seen and "done" in seen, seen
    for step in STEPS:
        assert step in text
    assert "metrics:" in text and "accuracy" in text
    link = re.search(r"MLflow run ([0-9a-f]{32})", text)
    assert link, text
    # the run the view links is in the server's MLflow store, with the metrics the view shows
    logged = notebook7.api(f"/mlops/mlflow-runs/{link[1]}")["run"]
    assert logged["status"] == "succeeded", logged  # nb2pipe's word, as the routes answer
    assert f"accuracy = {logged['metrics']['accuracy']:.4g}" in text
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshots / "notebook7-run.png"))
