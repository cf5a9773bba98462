"""`%mlops run` in a JupyterLab notebook: the live ipywidgets view of a pipeline run.

The lab's `from_a_cell/` folder holds `run_from_a_cell.ipynb` (and a copy of the example), whose one cell runs the example pipeline; the
view's step statuses change while it runs, then it shows the run's metrics.
"""

from __future__ import annotations

import time

import pytest
from uikit import RUNNER_FOLDER, RUNNER_NOTEBOOK

pytestmark = pytest.mark.slow

STEPS = ["load", "scaled_features", "poly_features", "train", "evaluate"]
RUN_TIMEOUT_S = 240


@pytest.fixture(scope="module")
def page(browser, lab):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    # a workspace of its own: not the layout another test module left (other notebooks open)
    page.goto(
        f"{lab.url}/lab/workspaces/widget/tree/{RUNNER_FOLDER}/{RUNNER_NOTEBOOK}?reset&token={lab.token}"
    )
    page.locator(".jp-NotebookPanel:visible .jp-Cell").first.wait_for()
    yield page
    context.close()


def test_a_cell_runs_the_pipeline_with_a_live_view(page, screenshots):
    page.locator("#jp-main-statusbar").get_by_text("Idle").first.wait_for(timeout=120_000)
    page.locator(".jp-NotebookPanel:visible .jp-Cell .jp-InputArea-editor").first.click()
    page.keyboard.press("Shift+Enter")
    view = page.locator(".jp-mlops-live-run")
    view.wait_for(timeout=120_000)
    seen: set[str] = set()
    shot = False
    deadline = time.monotonic() + RUN_TIMEOUT_S
    text = ""
    while time.monotonic() < deadline:
        text = view.inner_text()
        words = set(text.split())
        seen |= words & {"pending", "running", "done", "cached"}
        if text.split().count("running") >= 2 and not shot:  # the run's badge and a step's
            page.screenshot(path=str(screenshots / "notebook-run-running.png"))
            shot = True
        if {"succeeded", "failed"} & words and "logging" not in words:
            break
        page.wait_for_timeout(250)
    assert "succeeded" in text.split(), text
    # statuses changed while it ran: steps were seen pending or running before done
    assert {"pending", "running"} & seen and "done" in seen, seen
    for step in STEPS:
        assert step in text
    assert "metrics:" in text and "accuracy" in text
    assert "MLflow run" in text
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshots / "notebook-run.png"))
