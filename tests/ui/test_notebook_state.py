"""The Pipeline panel shows only its own notebook's compile and runs, in a real JupyterLab.

Each test is one state defect a user met (issue 26): another notebook's run or compile time in
a new notebook's panel, an old compile time beside a new step count, a step added after a run
listed as pending in that finished run.
"""

from __future__ import annotations

import pytest
from support.notebooks import code, markdown, write_notebook
from uikit import open_lab_page, open_path, start_run, tid

pytestmark = pytest.mark.slow

RUN = "state_run.ipynb"  # run once before the tests
NEW = "state_new.ipynb"  # never run, never compiled


@pytest.fixture(scope="module")
def notebooks(lab) -> dict:
    write_notebook(
        lab.root / RUN,
        markdown("# Two steps"),
        code("n = 3", "parameters"),
        code("data = list(range(n))", "step:load"),
        code("total = sum(data)", "step:total"),
        code("report = f'total {total}'"),
    )
    write_notebook(
        lab.root / NEW,
        markdown("# Another notebook"),
        code("size = 2", "parameters"),
        code("values = [1] * size", "step:make"),
    )
    run = start_run(lab, RUN)
    assert run["status"] == "succeeded", run
    return {"run": run}


@pytest.fixture
def page(browser, lab, notebooks):
    page = open_lab_page(browser, lab, RUN)
    yield page
    assert not page.errors
    page.context.close()


STEPS = {RUN: "load total", NEW: "make"}


def wait_for_graph(page, path: str) -> None:
    """Until the Pipeline panel shows `path`'s steps (the same test ids as before issue 26, so
    these tests ran against the code they were written to catch)."""
    page.wait_for_function(
        "steps => document.querySelector('[data-testid=mlops-pipeline-graph-box]')"
        "?.dataset.steps === steps",
        arg=STEPS[path],
    )


def open_notebook(page, path: str) -> None:
    open_path(page, path)
    wait_for_graph(page, path)


def show_notebook(page, path: str) -> None:
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=path).click()
    wait_for_graph(page, path)


def shown_run(page, run_id: str):
    """The run view once it shows run `run_id` (its name and id, the id's random part)."""
    view = page.locator(tid("mlops-run-view")).filter(has_text=run_id.rsplit("-", 1)[-1])
    try:
        view.wait_for(timeout=8000)
    except Exception:
        page.screenshot(path="/tmp/h26-debug.png")
        print(page.locator(tid("mlops-sidebar")).evaluate("e => e.outerHTML")[:3000])
        raise
    return view


def test_a_new_notebook_shows_neither_anothers_run_nor_its_compile(page, notebooks):
    run_id = notebooks["run"]["run_id"]
    view = page.locator(tid("mlops-run-view"))
    wait_for_graph(page, RUN)
    shown_run(page, run_id)
    page.locator(tid("mlops-compile")).click()
    page.locator(tid("mlops-compile-result")).wait_for()

    open_notebook(page, NEW)
    page.wait_for_timeout(1000)
    assert view.count() == 0, view.first.inner_text()
    assert page.locator(tid("mlops-compile-result")).count() == 0
    # back and forth: each notebook keeps its own
    show_notebook(page, RUN)
    shown_run(page, run_id)
    assert page.locator(tid("mlops-compile-result")).count() == 1
    show_notebook(page, NEW)
    page.wait_for_timeout(1500)  # a late answer for the other notebook must not land here
    assert view.count() == 0, view.first.inner_text()
    assert page.locator(tid("mlops-compile-result")).count() == 0


def test_a_step_added_after_a_run_is_not_pending_in_that_run(page, notebooks):
    wait_for_graph(page, RUN)
    shown_run(page, notebooks["run"]["run_id"])
    page.locator(tid("mlops-compile")).click()
    result = page.locator(tid("mlops-compile-result"))
    result.wait_for()
    assert "2 steps, no errors" in result.inner_text()

    # the last cell becomes a step of its own, with the tag editor
    cell = page.locator(".jp-Notebook .jp-Cell").nth(4)
    cell.locator(".jp-InputPrompt").click()
    page.locator(tid("mlops-tab-tags")).click()
    page.locator(tid("mlops-tag-step")).fill("summary")
    page.locator(tid("mlops-tags-apply")).click()
    page.locator(tid("mlops-tab-pipeline")).click()
    page.wait_for_function(
        "() => (document.querySelector('[data-testid=mlops-pipeline-graph-box]')"
        "?.dataset.steps ?? '').split(' ').includes('summary')"
    )
    # the finished run lists its own two steps, done; the new step is not "pending" in it
    rows = page.locator(f"{tid('mlops-run-view')} tr[data-status]")
    statuses = {
        rows.nth(i).get_attribute("data-testid"): rows.nth(i).get_attribute("data-status")
        for i in range(rows.count())
    }
    assert statuses == {"mlops-step-load": "done", "mlops-step-total": "done"}
    # the Compile box said 2 steps at its time; once the notebook is compiled again it goes,
    # rather than show that old time beside the new count
    assert page.locator(tid("mlops-compile-result")).count() == 0
    assert "3 steps" in page.locator(tid("mlops-pipeline-summary")).inner_text()
