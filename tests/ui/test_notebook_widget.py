"""`%mlops run` in a JupyterLab notebook: the live ipywidgets view of a pipeline run.

The lab's `from_a_cell/` folder holds `run_from_a_cell.ipynb` (and a copy of the example), whose one cell runs the example pipeline; the
view's step statuses change while it runs, then it shows the run's metrics.
"""

from __future__ import annotations

import pytest
from uikit import LIVE_RUN_VIEW, RUNNER_FOLDER, RUNNER_NOTEBOOK, opened, watch_live_run

pytestmark = pytest.mark.slow

STEPS = ["load", "scaled_features", "poly_features", "train", "evaluate"]
RUN_TIMEOUT_S = 240


@pytest.fixture(scope="module")
def page(browser, lab):
    # a workspace of its own: not the layout another test module left (other notebooks open)
    url = f"{lab.url}/lab/workspaces/widget/tree/{RUNNER_FOLDER}/{RUNNER_NOTEBOOK}?reset&token={lab.token}"
    with opened(browser, url, ".jp-NotebookPanel:visible .jp-Cell") as page:
        yield page


def test_a_cell_runs_the_pipeline_with_a_live_view(page, screenshots):
    page.locator("#jp-main-statusbar").get_by_text("Idle").first.wait_for(timeout=120_000)
    page.locator(".jp-NotebookPanel:visible .jp-Cell .jp-InputArea-editor").first.click()
    page.keyboard.press("Shift+Enter")
    page.locator(LIVE_RUN_VIEW).wait_for(timeout=120_000)
    text, seen = watch_live_run(
        page,
        RUN_TIMEOUT_S,
        lambda: page.screenshot(path=str(screenshots / "notebook-run-running.png")),
    )
    assert "succeeded" in text.split(), text
    # statuses changed while it ran: steps were seen pending or running before done
    assert {"pending", "running"} & seen and "done" in seen, seen
    for step in STEPS:
        assert step in text
    assert "metrics:" in text and "accuracy" in text
    assert "MLflow run" in text
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshots / "notebook-run.png"))
