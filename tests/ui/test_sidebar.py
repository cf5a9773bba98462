"""The sidebar in a real JupyterLab, driven through headless Chromium as a user would.

One browser page walks the example notebook's story in order: see the steps, run the
pipeline from the button, find the run in Experiments, profile its data, publish and promote
its model, retag a cell and see the graph change. Each panel's screenshot lands in
build/screenshots/ (`make screenshots` copies them into docs/screenshots/).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect
from uikit import open_sidebar

pytestmark = pytest.mark.slow

STEPS = ["load", "scaled_features", "poly_features", "train", "evaluate"]
RUN_TIMEOUT_S = 240
UI_TIMEOUT_MS = 30_000
SIDEBAR_WIDTH = 520


def tid(name: str) -> str:
    return f'[data-testid="{name}"]'


@pytest.fixture(scope="module")
def page(browser, lab):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    errors: list[str] = []
    warnings: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "warning" and warnings.append(m.text))
    page.goto(f"{lab.url}/lab/tree/breast_cancer_diagnosis.ipynb?token={lab.token}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    # the sidebar's tab in the left bar (JupyterLab gives it data-id = the widget id)
    open_sidebar(page)
    widen_sidebar(page, SIDEBAR_WIDTH)
    page.errors = errors
    page.warnings = warnings
    yield page
    context.close()


def widen_sidebar(page, width: int) -> None:
    """Drag the handle between the left sidebar and the documents, as a user would."""
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
    box = handle.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(width, y, steps=8)
    page.mouse.up()


def show_sidebar(page) -> None:
    """After a reload: let JupyterLab restore its layout, then open our sidebar if it is shut.

    Clicking its icon before the restore has shown it would toggle it shut again.
    """
    icon = page.locator('li[data-id="jupyter-mlops-sidebar"]')
    icon.wait_for()
    try:
        page.locator(tid("mlops-sidebar")).wait_for(state="visible", timeout=10_000)
    except PlaywrightTimeoutError:
        icon.click()
        page.locator(tid("mlops-sidebar")).wait_for(state="visible")


def open_tab(page, name: str) -> None:
    page.locator(tid(f"mlops-tab-{name}")).click()
    page.locator(tid(f"mlops-panel-{name}")).wait_for(state="visible")


def shoot(page, screenshots: Path, name: str, top: bool = True) -> None:
    """The sidebar beside the notebook, as a user sees the panel."""
    if top:
        page.locator(".jp-mlops-panel:visible").evaluate("el => el.scrollTo(0, 0)")
    page.wait_for_timeout(400)  # let Vega finish drawing
    page.screenshot(path=str(screenshots / f"{name}.png"))


def graph_steps(page) -> list[str]:
    return page.locator(tid("mlops-pipeline-graph-box")).get_attribute("data-steps").split()


def graph_labels(page) -> set[str]:
    texts = page.locator(f"{tid('mlops-pipeline-graph')} svg text").all_text_contents()
    return {t.strip() for t in texts}


def test_pipeline_panel_shows_the_notebooks_steps(page):
    open_tab(page, "pipeline")
    page.locator(f"{tid('mlops-pipeline-graph')} svg").wait_for()
    page.wait_for_function(
        "n => document.querySelector('[data-testid=mlops-pipeline-graph-box]')"
        "?.dataset.steps.split(' ').length === n",
        arg=len(STEPS),
    )
    assert sorted(graph_steps(page)) == sorted(STEPS)
    assert set(STEPS) <= graph_labels(page)
    for name in ["test_size", "random_state", "n_estimators", "max_depth", "C"]:
        assert page.locator(tid(f"mlops-param-{name}")).is_visible()


def step_statuses(page) -> dict[str, str]:
    rows = page.locator(f"{tid('mlops-run-view')} tr[data-status]")
    return {
        rows.nth(i).get_attribute("data-testid").removeprefix("mlops-step-"): rows.nth(
            i
        ).get_attribute("data-status")
        for i in range(rows.count())
    }


def run_from_button(page, running_shot: Path | None = None) -> dict:
    """Click Run and watch the live status until the run ends (`running_shot`: a screenshot
    of the graph while a step runs)."""
    open_tab(page, "pipeline")
    previous = page.locator(f"{tid('mlops-run-view')} code").all_text_contents()
    page.locator(tid("mlops-run")).click()
    page.wait_for_function(
        "old => { const c = document.querySelector('[data-testid=mlops-run-view] code');"
        " return c && !old.includes(c.textContent); }",
        arg=previous,
    )
    seen: dict[str, set[str]] = {name: set() for name in STEPS}
    deadline = time.monotonic() + RUN_TIMEOUT_S
    status = ""
    while time.monotonic() < deadline:
        status = page.locator(tid("mlops-run-status")).get_attribute("data-status")
        for name, state in step_statuses(page).items():
            seen.setdefault(name, set()).add(state)
            if state == "running" and running_shot is not None:
                page.wait_for_timeout(400)  # the graph redraws with the new status
                page.screenshot(path=str(running_shot))
                running_shot = None
        if status not in ("starting", "running", "cancelling"):
            break
        page.wait_for_timeout(250)
    run_id = page.locator(f"{tid('mlops-run-view')} code").first.text_content()
    return {"status": status, "seen": seen, "final": step_statuses(page), "run_id": run_id}


@pytest.fixture(scope="module")
def finished_run(page, screenshots) -> dict:
    """The example notebook run from the Run button with its own parameters."""
    return run_from_button(page, running_shot=screenshots / "pipeline-running.png")


@pytest.fixture(scope="module")
def second_run(page, finished_run) -> dict:
    """A second run with other parameters typed into the parameters form."""
    open_tab(page, "pipeline")
    page.locator(tid("mlops-param-test_size")).fill("0.3")
    page.locator(tid("mlops-param-C")).fill("1")
    return run_from_button(page)


def test_run_button_runs_every_step_to_done(page, finished_run, screenshots):
    assert finished_run["status"] == "succeeded", finished_run
    assert finished_run["final"] == {name: "done" for name in STEPS}
    # the status was live: steps were seen before they were done
    assert any(seen - {"done"} for seen in finished_run["seen"].values()), finished_run["seen"]
    # every finished step links to its executed notebook
    for name in STEPS:
        assert page.locator(tid(f"mlops-step-open-{name}")).is_visible()
    # the graph shows the run's statuses (the chart redraws with each status change)
    assert page.locator(tid("mlops-run-metrics")).is_visible()
    shoot(page, screenshots, "pipeline")


def test_step_link_opens_the_executed_notebook_read_only(page, lab, finished_run):
    """In a plain `jupyter lab` (no allow_hidden), titled `<step> · <run id>`, no kernel, and
    the Pipeline panel keeps the source notebook."""
    sessions = len(lab.api("/api/sessions"))
    page.locator(tid("mlops-step-open-evaluate")).click()
    title = f"evaluate · {finished_run['run_id']}"
    tabs = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab")
    tabs.filter(has_text=title).wait_for()
    shown = page.frame_locator(f"{tid('mlops-executed-notebook')}:visible iframe")
    shown.locator("text=accuracy =").first.wait_for()
    assert shown.locator("h1.nb-title").inner_text() == title
    assert tabs.filter(has_text="notebook.ipynb").count() == 0
    assert page.locator(".jp-NotebookPanel:visible").count() == 0  # not a notebook document
    assert len(lab.api("/api/sessions")) == sessions  # no kernel started for it
    # the Pipeline panel still shows the source notebook's pipeline and its run
    assert sorted(graph_steps(page)) == sorted(STEPS)
    assert step_statuses(page) == {name: "done" for name in STEPS}
    tabs.filter(has_text="breast_cancer_diagnosis.ipynb").click()
    page.locator(tid("mlops-step-evaluate")).wait_for()


def test_compile_says_what_it_found(page):
    open_tab(page, "pipeline")
    page.locator(tid("mlops-compile")).click()
    result = page.locator(tid("mlops-compile-result"))
    result.wait_for()
    assert result.get_attribute("data-ok") == "true"
    assert f"{len(STEPS)} steps, no errors" in result.inner_text()


def test_parameters_form_starts_a_run_with_new_values(second_run):
    assert second_run["status"] == "succeeded", second_run
    # test_size feeds step load, so every step runs again: nothing comes from the cache
    assert second_run["final"] == {name: "done" for name in STEPS}


def test_experiments_lists_and_compares_runs(page, finished_run, second_run, screenshots):
    open_tab(page, "experiments")
    rows = {
        run["run_id"]: page.locator(f'{tid("mlops-run-row")}[data-nb2pipe-run="{run["run_id"]}"]')
        for run in (finished_run, second_run)
    }
    deadline = time.monotonic() + 60
    while not all(r.count() for r in rows.values()) and time.monotonic() < deadline:
        page.locator(tid("mlops-runs-reload")).click()  # tracking may lag the run a little
        page.wait_for_timeout(1000)
    assert all(r.count() == 1 for r in rows.values())
    assert "accuracy" in page.locator(tid("mlops-runs-table")).inner_text()
    page.locator(tid("mlops-metric-select")).select_option("accuracy")
    page.locator(f"{tid('mlops-metric-chart')} svg").wait_for()
    # sorting by a metric asks the server again
    page.locator(tid("mlops-runs-sort-accuracy")).click()
    assert page.locator(tid("mlops-runs-sort-accuracy")).inner_text().endswith("▾")
    for row in rows.values():
        row.wait_for()
        row.locator('input[type="checkbox"]').check()
    compare = page.locator(tid("mlops-compare"))
    compare.wait_for()
    differing = compare.locator("tr.jp-mlops-differs").all_inner_texts()
    assert any(t.split()[:1] == ["C"] for t in differing), differing
    assert any(t.split()[:1] == ["test_size"] for t in differing), differing
    page.locator(f"{tid('mlops-compare-chart')} svg").wait_for()
    # every row is a pipeline run; its step runs open under it
    assert all(
        page.locator(tid("mlops-run-row")).evaluate_all("rs => rs.map(r => r.dataset.nb2pipeRun)")
    )
    parent = rows[finished_run["run_id"]].get_attribute("data-run-id")
    page.locator(tid(f"mlops-run-steps-{parent}")).click()
    steps = page.locator(f'{tid("mlops-step-run-row")}[data-parent="{parent}"]')
    expect(steps).to_have_count(5)  # Playwright's own query: the rows as the user sees them
    assert sorted(steps.all_inner_texts()[i].split()[0] for i in range(5)) == sorted(STEPS)
    page.locator(tid(f"mlops-run-steps-{parent}")).click()
    # a bad filter: one clear line, and no stale rows under it
    page.locator(tid("mlops-runs-filter")).fill("metrics.accuracy <<< 1")
    page.locator(tid("mlops-runs-filter-apply")).click()
    problem = page.locator(tid("mlops-runs-error"))
    problem.wait_for()
    assert "filter 'metrics.accuracy <<< 1': Invalid comparator" in problem.inner_text()
    assert page.locator(tid("mlops-run-row")).count() == 0
    # a filter in MLflow's syntax narrows the table
    page.locator(tid("mlops-runs-filter")).fill("params.C = '1.0'")
    page.locator(tid("mlops-runs-filter-apply")).click()
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=mlops-run-row]').length === 1"
    )
    assert rows[second_run["run_id"]].count() == 1
    page.locator(tid("mlops-runs-filter")).fill("")
    page.locator(tid("mlops-runs-filter-apply")).click()
    for row in rows.values():  # both back (other modules' runs may share the store)
        row.wait_for()
    shoot(page, screenshots, "experiments")


def test_data_profile_of_a_step_artifact(page, finished_run, screenshots):
    open_tab(page, "data")
    page.locator(tid("mlops-data-reload")).click()
    run = page.locator(tid("mlops-data-run"))
    page.wait_for_function(
        "id => [...document.querySelectorAll('[data-testid=mlops-data-run] option')]"
        ".some(o => o.value === id)",
        arg=finished_run["run_id"],
    )
    run.select_option(finished_run["run_id"])
    page.locator(tid("mlops-data-step")).select_option("load")
    page.locator(tid("mlops-data-artifact")).select_option("train_df")
    page.locator(tid("mlops-data-profile-button")).click()
    profile = page.locator(tid("mlops-data-profile"))
    profile.wait_for()
    columns = profile.locator(tid("mlops-profile-column"))
    assert columns.count() == 31  # 30 measurements + target
    assert "mean radius" in profile.inner_text()
    page.locator(f"{tid('mlops-profile-chart-0')} svg").wait_for()
    shoot(page, screenshots, "data")


def test_data_drift_between_two_runs(page, finished_run, second_run, screenshots):
    open_tab(page, "data")
    page.locator(tid("mlops-data-run")).select_option(second_run["run_id"])
    page.locator(tid("mlops-data-step")).select_option("load")
    page.locator(tid("mlops-data-artifact")).select_option("train_df")
    page.locator(tid("mlops-drift-reference")).select_option(finished_run["run_id"])
    page.locator(tid("mlops-data-drift-button")).click()
    drift = page.locator(tid("mlops-data-drift"))
    drift.wait_for()
    assert drift.get_attribute("data-drifted") in ("true", "false")
    assert "mean radius" in drift.inner_text()
    page.locator(f"{tid('mlops-drift-chart')} svg").wait_for()
    page.locator(".jp-mlops-panel:visible").evaluate(
        """el => {
          const drift = el.querySelector('[data-testid=mlops-data-drift]');
          const top = drift.getBoundingClientRect().top - el.getBoundingClientRect().top;
          el.scrollTo(0, el.scrollTop + top - 150);
        }"""
    )
    shoot(page, screenshots, "data-drift", top=False)


def publish_from_panel(page, name: str, run_id: str) -> str:
    """Publish the model of nb2pipe run `run_id` as `name` from the Models panel."""
    open_tab(page, "models")
    form = page.locator(tid("mlops-publish-form"))
    page.locator(tid("mlops-publish-name")).fill(name)
    page.wait_for_function(
        "id => [...document.querySelectorAll('[data-testid=mlops-publish-run] option')]"
        ".some(o => o.value === id)",
        arg=run_id,
    )
    page.locator(tid("mlops-publish-run")).select_option(run_id)
    # the model artifact is found by its serializer (joblib: an estimator), not by its name
    page.wait_for_function(
        "() => document.querySelector('[data-testid=mlops-publish-artifact]')?.value === 'model'"
    )
    assert page.locator(tid("mlops-publish-step")).input_value() == "train"
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=mlops-publish-metric] option')]"
        ".some(o => o.value === 'accuracy')"
    )
    page.locator(tid("mlops-publish-metric")).select_option("accuracy")
    before = form.locator(tid("mlops-publish-result")).all_inner_texts()
    page.locator(tid("mlops-publish")).click()
    result = form.locator(tid("mlops-publish-result"))
    page.wait_for_function(
        "old => { const r = document.querySelector('[data-testid=mlops-publish-result]');"
        " return r && !old.includes(r.innerText); }",
        arg=before,
        timeout=120_000,
    )
    return result.inner_text()


def test_publish_and_promote_from_models(page, lab, finished_run, second_run, screenshots):
    published = publish_from_panel(page, "breast_cancer_diagnosis", finished_run["run_id"])
    assert re.search(r"breast_cancer_diagnosis v1 challenger", published), published
    model = page.locator(tid("mlops-model-breast_cancer_diagnosis"))
    model.wait_for()
    model.click()
    card = page.locator(tid("mlops-model-card"))
    card.locator(".jp-RenderedMarkdown").wait_for()
    text = card.inner_text()
    assert "breast_cancer_diagnosis" in text
    # lineage: the notebook as the project sees it, and the pipeline run it came from
    assert "breast_cancer_diagnosis.ipynb" in text and str(lab.root) not in text
    assert finished_run["run_id"] in text
    # the card is part of the panel's scrolling, not a box scrolling inside it
    assert card.evaluate("el => getComputedStyle(el).overflowY") == "visible"
    assert card.evaluate("el => el.scrollHeight <= el.clientHeight + 1")

    assert page.locator(tid("mlops-promote-metric")).input_value() == "accuracy"
    page.locator(tid("mlops-promote")).click()
    decision = page.locator(tid("mlops-promote-result"))
    decision.wait_for(timeout=60_000)
    assert decision.get_attribute("data-promoted") == "true", decision.inner_text()
    version = page.locator(tid("mlops-model-version-1"))
    page.wait_for_function(
        "() => (document.querySelector('[data-testid=mlops-model-version-1]')"
        "?.dataset.aliases ?? '').includes('champion')"
    )
    assert "challenger" in version.get_attribute("data-aliases")
    shoot(page, screenshots, "models")

    # v2 must beat the champion by 100 points of accuracy: it stays challenger, which is the
    # gate's normal outcome, shown as such and not as an error
    assert "breast_cancer_diagnosis v2" in publish_from_panel(
        page, "breast_cancer_diagnosis", second_run["run_id"]
    )
    page.locator(tid("mlops-model-breast_cancer_diagnosis")).click()
    page.locator(tid("mlops-promote-threshold")).fill("100")
    page.locator(tid("mlops-promote")).click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=mlops-promote-result]')"
        "?.dataset.promoted === 'false'"
    )
    decision = page.locator(tid("mlops-promote-result"))
    assert "stays challenger" in decision.inner_text()
    assert decision.get_attribute("class") == "jp-mlops-neutral"
    page.locator(tid("mlops-promote-threshold")).fill("0")


def test_clicking_a_second_model_keeps_the_sidebar(page, finished_run):
    """A second registered model: switching between models shows each card, and the
    sidebar (every panel) stays."""
    publish_from_panel(page, "breast_cancer_diagnosis_second", finished_run["run_id"])
    for name in (
        "breast_cancer_diagnosis",
        "breast_cancer_diagnosis_second",
        "breast_cancer_diagnosis",
    ):
        page.locator(tid(f"mlops-model-{name}")).click()
        card = page.locator(tid("mlops-model-card"))
        page.wait_for_function(
            "n => (document.querySelector('[data-testid=mlops-model-card]')?.innerText ?? '')"
            ".includes(`Model card: ${n} `)",
            arg=name,
        )
        assert card.is_visible()
    assert page.locator(tid("mlops-sidebar")).is_visible()
    assert page.locator('[data-testid^="mlops-panel-error-"]').count() == 0
    open_tab(page, "pipeline")
    assert sorted(graph_steps(page)) == sorted(STEPS)


def wait_for_run_status(page, wanted: tuple[str, ...], timeout_s: float = RUN_TIMEOUT_S) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = page.locator(tid("mlops-run-status")).get_attribute("data-status")
        if status in wanted:
            return status
        page.wait_for_timeout(250)
    raise AssertionError(f"run status still {status!r}, not one of {wanted}")


def test_cancel_then_resume_a_run(page, second_run):
    open_tab(page, "pipeline")
    page.locator(tid("mlops-force")).check()  # every step runs again: time to cancel
    page.locator(tid("mlops-run")).click()
    page.wait_for_function(
        "old => document.querySelector('[data-testid=mlops-run-view] code')?.textContent !== old",
        arg=second_run["run_id"],
    )
    page.locator(f'{tid("mlops-run-view")} tr[data-status="running"]').first.wait_for()
    page.locator(tid("mlops-cancel")).click()
    assert wait_for_run_status(page, ("cancelled", "failed", "succeeded")) == "cancelled"
    statuses = step_statuses(page)
    assert set(statuses.values()) - {"done"}, statuses  # some steps never ran
    # the steps that never ran are "cancelled": coloured, and named in the graph's legend
    assert "cancelled" in statuses.values(), statuses
    badge = page.locator(f'{tid("mlops-run-view")} tr[data-status="cancelled"] .jp-mlops-badge')
    assert badge.first.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(239, 108, 0)"
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=mlops-pipeline-graph] svg text')]"
        ".some(t => t.textContent.trim() === 'cancelled')"
    )
    page.locator(tid("mlops-force")).uncheck()
    assert page.locator(tid("mlops-resume")).is_enabled()
    assert "Resume continues it with them" in page.locator(tid("mlops-params-from")).inner_text()
    page.locator(tid("mlops-resume")).click()
    page.wait_for_function(
        "() => ['starting', 'running'].includes("
        "document.querySelector('[data-testid=mlops-run-status]')?.dataset.status)"
    )
    assert wait_for_run_status(page, ("succeeded", "failed", "cancelled")) == "succeeded"
    assert set(step_statuses(page).values()) <= {"done", "cached"}


def test_after_a_reload_the_form_shows_the_shown_runs_parameters(page, second_run, screenshots):
    """Resume continues the run on display with its own values: after a reload the form shows
    them (not the notebook's), says whose they are, and says when an edit makes a new run."""
    page.reload()
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    show_sidebar(page)
    open_tab(page, "pipeline")
    note = page.locator(tid("mlops-params-from"))
    note.wait_for()
    shown = page.locator(f"{tid('mlops-run-view')} code").first.text_content()
    assert note.get_attribute("data-run") == shown
    assert f"The values of run {shown}." in note.inner_text()  # it succeeded: no Resume
    # the newest run is the resumed one, run with the values typed for the second run
    assert page.locator(tid("mlops-param-test_size")).input_value() == "0.3"
    assert page.locator(tid("mlops-param-C")).input_value() == "1"
    note.scroll_into_view_if_needed()
    shoot(page, screenshots, "pipeline-params-of-a-run", top=False)
    page.locator(tid("mlops-param-C")).fill("0.2")
    assert "a run with these values is a new run" in note.inner_text()
    page.locator(tid("mlops-params-reset")).click()
    assert note.count() == 0
    assert page.locator(tid("mlops-param-test_size")).input_value() == "0.25"
    assert page.locator(tid("mlops-param-C")).input_value() == "0.1"


def test_cell_tag_editor_changes_the_graph(page, screenshots):
    open_tab(page, "pipeline")
    assert "select_model" not in graph_steps(page)
    # cell 17 (`features_used = max(...)`) carries no tag: it belongs to step train
    cell = page.locator(".jp-Notebook .jp-Cell").nth(16)
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputPrompt").click()
    open_tab(page, "tags")
    editor = page.locator(tid("mlops-tags-editor"))
    assert editor.get_attribute("data-cell") == "17"
    assert page.locator(tid("mlops-tags-step-of-cell")).inner_text() == "in step train"
    page.locator(tid("mlops-tag-step")).fill("select_model")
    page.locator(tid("mlops-tag-cpu")).fill("1")
    page.locator(tid("mlops-tag-memory")).fill("512Mi")
    page.locator(tid("mlops-tag-cache")).select_option("off")
    page.locator(tid("mlops-tag-after-poly_features")).check()
    assert page.locator(tid("mlops-tags-preview")).inner_text().split() == [
        "step:select_model",
        "after:poly_features",
        "cpu:1",
        "memory:512Mi",
        "cache:off",
    ]
    page.locator(tid("mlops-tags-apply")).click()
    page.locator(tid("mlops-tags-note")).wait_for()
    chips = page.locator(tid("mlops-tags-current")).inner_text()
    assert "step:select_model" in chips and "cache:off" in chips
    page.wait_for_function(
        "() => (document.querySelector('[data-testid=mlops-pipeline-graph-box]')"
        "?.dataset.steps ?? '').split(' ').includes('select_model')"
    )
    page.locator(tid("mlops-tags-step-of-cell")).filter(has_text="in step select_model").wait_for()
    shoot(page, screenshots, "tags")

    open_tab(page, "pipeline")
    assert "select_model" in graph_steps(page)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=mlops-pipeline-graph] svg text')]"
        ".some(t => t.textContent.trim() === 'select_model')"
    )
    # a bad value never reaches the notebook: the editor refuses it
    open_tab(page, "tags")
    page.locator(tid("mlops-tag-memory")).fill("lots")
    assert page.locator(tid("mlops-tags-apply")).is_disabled()
    page.locator(tid("mlops-tags-reset")).click()


def test_a_failure_line_links_to_the_source_cell(page, second_run):
    open_tab(page, "pipeline")
    shown = page.locator(f"{tid('mlops-run-view')} code").first.text_content()
    page.locator(tid("mlops-param-C")).fill("-1")  # LogisticRegression refuses C <= 0
    page.locator(tid("mlops-run")).click()
    page.wait_for_function(
        "old => document.querySelector('[data-testid=mlops-run-view] code')?.textContent !== old",
        arg=shown,
    )
    assert wait_for_run_status(page, ("succeeded", "failed", "cancelled")) == "failed"
    # the step holding the fit (train, or the step the tag editor test split from it)
    link = page.locator('[data-testid^="mlops-step-error-cell-"]').first
    cell = int(link.inner_text().split()[-1])
    page.locator(".jp-Notebook .jp-Cell").first.click()  # somewhere else first
    link.click()
    page.wait_for_function(
        "n => document.querySelectorAll('.jp-Notebook .jp-Cell')[n - 1]"
        "?.classList.contains('jp-mod-active')",
        arg=cell,
    )
    assert "C" in page.locator(".jp-Notebook .jp-Cell.jp-mod-active").inner_text()
    page.locator(tid("mlops-param-C")).fill("1.0")


def test_the_sidebar_at_jupyterlabs_default_width(page, screenshots):
    """At ~250 px the tabs stay one row and the runs table keeps at least two columns."""
    widen_sidebar(page, 250 + 33)  # the left bar of icons is 33 px wide
    tabs = page.locator(f"{tid('mlops-sidebar')} .jp-mlops-tabs .jp-mlops-tab")
    tops = {round(tabs.nth(i).bounding_box()["y"]) for i in range(tabs.count())}
    assert len(tops) == 1, tops
    width = page.locator(tid("mlops-sidebar")).bounding_box()["width"]
    assert 230 <= width <= 270, width
    open_tab(page, "experiments")
    row = page.locator(tid("mlops-run-row")).first
    row.wait_for()
    shown = row.locator("td").evaluate_all(
        "cells => cells.filter(c => { const b = c.getBoundingClientRect();"
        " const t = c.closest('.jp-mlops-panel').getBoundingClientRect();"
        " return b.width > 20 && b.right <= t.right + 1 && c.innerText.trim(); }).length"
    )
    assert shown >= 2, shown
    shoot(page, screenshots, "narrow-experiments")
    open_tab(page, "pipeline")
    shoot(page, screenshots, "narrow-pipeline")
    widen_sidebar(page, SIDEBAR_WIDTH)


def test_a_failing_panel_leaves_the_others_working(page):
    """A panel that throws while rendering shows its error in place; the sidebar stays."""
    broken = '{"models": [{"name": "broken", "aliases": null, "latest_version": "1"}]}'
    page.route(
        "**/mlops/models?*",
        lambda route: route.fulfill(status=200, content_type="application/json", body=broken),
    )
    page.route(
        "**/mlops/models",
        lambda route: route.fulfill(status=200, content_type="application/json", body=broken),
    )
    try:
        page.reload()
        page.locator(".jp-Notebook .jp-Cell").first.wait_for()
        show_sidebar(page)
        open_tab(page, "models")
        page.locator(tid("mlops-panel-error-Models")).wait_for()
        open_tab(page, "pipeline")
        page.wait_for_function(
            "() => (document.querySelector('[data-testid=mlops-pipeline-graph-box]')"
            "?.dataset.steps ?? '').split(' ').includes('load')"
        )
        assert page.locator('[data-testid^="mlops-panel-error-"]').count() == 1
    finally:
        page.unroute("**/mlops/models?*")
        page.unroute("**/mlops/models")


def test_no_uncaught_errors_or_vega_lite_warnings_in_the_page(page):
    assert not page.errors
    assert not [w for w in page.warnings if "Vega-Lite" in w or "vega-lite" in w], page.warnings
