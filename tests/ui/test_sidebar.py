"""The sidebar in a real JupyterLab, driven through headless Chromium as a user would.

One browser page walks the example notebook's story in order: see the steps, run the
pipeline from the button, change its parameters, cancel and resume, retag a cell and see the
graph change, follow a failure to its cell; and the sidebar at JupyterLab's default width of
250 px. Screenshots land in build/screenshots/. The main-area views are test_views.py's.
"""

from __future__ import annotations

import time

import pytest
from uikit import (
    axe_violations,
    kernel_value,
    no_sideways_scroll,
    open_lab_page,
    set_sidebar_width,
    set_theme,
    shoot,
    show_sidebar,
    tid,
)

pytestmark = pytest.mark.slow

STEPS = ["load", "scaled_features", "poly_features", "train", "evaluate"]
RUN_TIMEOUT_S = 240
UI_TIMEOUT_MS = 30_000
SIDEBAR_WIDTH = 520


@pytest.fixture(scope="module")
def page(browser, lab):
    page = open_lab_page(browser, lab, "breast_cancer_diagnosis.ipynb", timeout_ms=UI_TIMEOUT_MS)
    page.warnings = []
    page.on("console", lambda m: m.type == "warning" and page.warnings.append(m.text))
    set_sidebar_width(page, SIDEBAR_WIDTH)
    yield page
    page.context.close()


def test_a_workspace_saved_with_the_sidebar_shown_reopens_with_it_shown(browser, lab):
    """JupyterLab saves its layout in the workspace and restores it on the next visit: the
    sidebar comes back shown. Clicking its icon would then hide it (the icon toggles), which is
    why the tests show it with its command: that keeps a shown sidebar shown."""
    page = open_lab_page(browser, lab, "breast_cancer_diagnosis.ipynb", timeout_ms=UI_TIMEOUT_MS)
    try:
        saved = f"/lab/api/workspaces/{page.workspace}"
        deadline = time.monotonic() + 30
        while (
            lab.api(saved)["data"].get("layout-restorer:data", {}).get("left", {}).get("current")
            != "jupyter-mlops-sidebar"
        ):
            assert time.monotonic() < deadline, lab.api(saved)
            time.sleep(0.5)
        page.goto(f"{lab.url}/lab/workspaces/{page.workspace}?token={lab.token}")
        page.wait_for_function("() => window.jupyterapp !== undefined")
        page.evaluate("() => window.jupyterapp.restored")
        sidebar = page.locator(tid("mlops-sidebar"))
        sidebar.wait_for(state="visible")  # restored shown, before anyone touched it
        page.locator('li[data-id="jupyter-mlops-sidebar"]').click()
        sidebar.wait_for(state="hidden")  # the click CI's old fixture made: it hid the sidebar
        show_sidebar(page)
        show_sidebar(page)  # twice: a shown sidebar stays shown
        assert sidebar.is_visible()
        assert not page.errors
    finally:
        page.context.close()


def open_tab(page, name: str) -> None:
    page.locator(tid(f"mlops-tab-{name}")).click()
    page.locator(tid(f"mlops-panel-{name}")).wait_for(state="visible")


def to_top(page) -> None:
    page.locator(".jp-mlops-panel:visible").evaluate("el => el.scrollTo(0, 0)")


def shown_run_id(page) -> str | None:
    view = page.locator(tid("mlops-run-view"))
    return view.get_attribute("data-run-id") if view.count() else None


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


def run_from_button(page, running_shot: str | None = None) -> dict:
    """Click Run and watch the live status until the run ends (`running_shot`: a screenshot
    of the graph while a step runs)."""
    open_tab(page, "pipeline")
    previous = shown_run_id(page)
    page.locator(tid("mlops-run")).click()
    page.wait_for_function(
        "old => { const v = document.querySelector('[data-testid=mlops-run-view]');"
        " return v && v.dataset.runId !== old; }",
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
                shoot(page, running_shot, "light")  # the graph redraws with the new status
                running_shot = None
        if status not in ("starting", "running", "cancelling"):
            break
        page.wait_for_timeout(250)
    return {
        "status": status,
        "seen": seen,
        "final": step_statuses(page),
        "run_id": shown_run_id(page),
    }


@pytest.fixture(scope="module")
def finished_run(page) -> dict:
    """The example notebook run from the Run button with its own parameters."""
    return run_from_button(page, running_shot="pipeline-running")


@pytest.fixture(scope="module")
def second_run(page, finished_run) -> dict:
    """A second run with other parameters typed into the parameters form."""
    open_tab(page, "pipeline")
    page.locator(tid("mlops-param-test_size")).fill("0.3")
    page.locator(tid("mlops-param-C")).fill("1")
    return run_from_button(page)


def test_run_button_runs_every_step_to_done(page, finished_run):
    assert finished_run["status"] == "succeeded", finished_run
    assert finished_run["final"] == {name: "done" for name in STEPS}
    # the status was live: steps were seen before they were done
    assert any(seen - {"done"} for seen in finished_run["seen"].values()), finished_run["seen"]
    # every finished step links to its executed notebook
    for name in STEPS:
        assert page.locator(tid(f"mlops-step-open-{name}")).is_visible()
    # the graph shows the run's statuses (the chart redraws with each status change)
    assert page.locator(tid("mlops-run-metrics")).is_visible()
    # the run is named by the notebook, its id one click away
    assert page.locator(f"{tid('mlops-run-name')} .jp-mlops-runname-text").inner_text() == (
        "breast_cancer_diagnosis"
    )
    page.locator(f"{tid('mlops-run-name')} .jp-mlops-idbutton").click()
    assert page.locator(tid("mlops-run-name-id")).inner_text() == finished_run["run_id"]
    to_top(page)
    for theme in ("light", "dark"):
        set_theme(page, theme)
        # the graph's labels: the theme's text colour over a halo of its background
        background = page.evaluate(
            "() => getComputedStyle(document.body).getPropertyValue('--jp-layout-color1').trim()"
        )
        halo = page.locator(f"{tid('mlops-pipeline-graph')} svg text[stroke]").first
        halo.wait_for()
        page.wait_for_function(
            "color => [...document.querySelectorAll("
            "'[data-testid=mlops-pipeline-graph] svg text[stroke]')]"
            ".every(t => t.getAttribute('stroke') === color)",
            arg=background,
        )
        shoot(page, "pipeline", theme)
        found = axe_violations(page, tid("mlops-sidebar"))
        assert found == [], "\n".join(found)
    set_theme(page, "light")


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
    page.locator(tid("mlops-compile-progress")).or_(result).first.wait_for()
    result.wait_for()
    assert result.get_attribute("data-ok") == "true"
    assert f"{len(STEPS)} steps, no errors" in result.inner_text()


def test_parameters_form_starts_a_run_with_new_values(second_run):
    assert second_run["status"] == "succeeded", second_run
    # test_size feeds step load, so every step runs again: nothing comes from the cache
    assert second_run["final"] == {name: "done" for name in STEPS}


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
        "old => document.querySelector('[data-testid=mlops-run-view]')?.dataset.runId !== old",
        arg=second_run["run_id"],
    )
    page.locator(f'{tid("mlops-run-view")} tr[data-status="running"]').first.wait_for()
    page.locator(tid("mlops-cancel")).click()
    assert wait_for_run_status(page, ("cancelled", "failed", "succeeded")) == "cancelled"
    statuses = step_statuses(page)
    assert set(statuses.values()) - {"done"}, statuses  # some steps never ran
    # the steps that never ran are "cancelled": marked in the theme's colour for it, and named
    # in the graph's legend
    assert "cancelled" in statuses.values(), statuses
    badge = page.locator(f'{tid("mlops-run-view")} tr[data-status="cancelled"] .jp-mlops-badge')
    mark = badge.first.evaluate("el => getComputedStyle(el, '::before').backgroundColor")
    assert mark == page.evaluate(
        "() => { const p = document.createElement('div'); p.style.color = 'var(--jp-warn-color1)';"
        " document.body.appendChild(p); const c = getComputedStyle(p).color; p.remove();"
        " return c; }"
    )
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


def test_after_a_reload_the_form_shows_the_shown_runs_parameters(page, second_run):
    """Resume continues the run on display with its own values: after a reload the form shows
    them (not the notebook's), says whose they are, and says when an edit makes a new run."""
    page.reload()
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    show_sidebar(page)
    open_tab(page, "pipeline")
    note = page.locator(tid("mlops-params-from"))
    note.wait_for()
    shown = shown_run_id(page)
    assert note.get_attribute("data-run") == shown
    assert f"The values of run {shown}." in note.inner_text()  # it succeeded: no Resume
    # the newest run is the resumed one, run with the values typed for the second run
    assert page.locator(tid("mlops-param-test_size")).input_value() == "0.3"
    assert page.locator(tid("mlops-param-C")).input_value() == "1"
    note.scroll_into_view_if_needed()
    shoot(page, "pipeline-params-of-a-run", "light")
    page.locator(tid("mlops-param-C")).fill("0.2")
    assert "a run with these values is a new run" in note.inner_text()
    page.locator(tid("mlops-params-reset")).click()
    assert note.count() == 0
    assert page.locator(tid("mlops-param-test_size")).input_value() == "0.25"
    assert page.locator(tid("mlops-param-C")).input_value() == "0.1"


def test_cell_tag_editor_changes_the_graph(page):
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
    # serve is a flag of step code, not a role: it joins the step's tags, and leaves them again
    page.locator(tid("mlops-tag-serve")).click()
    assert page.locator(tid("mlops-tags-preview")).inner_text().split()[:2] == [
        "step:select_model",
        "serve",
    ]
    page.locator(tid("mlops-tag-serveInput")).fill("raw")
    assert "serve:raw" in page.locator(tid("mlops-tags-preview")).inner_text().split()
    page.locator(tid("mlops-tag-serve")).click()
    assert "serve" not in page.locator(tid("mlops-tags-preview")).inner_text()
    page.locator(tid("mlops-tags-apply")).click()
    page.locator(tid("mlops-tags-note")).wait_for()
    chips = page.locator(tid("mlops-tags-current")).inner_text()
    assert "step:select_model" in chips and "cache:off" in chips
    page.wait_for_function(
        "() => (document.querySelector('[data-testid=mlops-pipeline-graph-box]')"
        "?.dataset.steps ?? '').split(' ').includes('select_model')"
    )
    page.locator(tid("mlops-tags-step-of-cell")).filter(has_text="in step select_model").wait_for()
    to_top(page)
    shoot(page, "tags", "light")

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


@pytest.fixture(scope="module")
def failed_run(page, second_run) -> str:
    """A run whose fit fails (C=-1), started from the Run button; its id."""
    open_tab(page, "pipeline")
    shown = shown_run_id(page)
    page.locator(tid("mlops-param-C")).fill("-1")  # LogisticRegression refuses C <= 0
    page.locator(tid("mlops-run")).click()
    page.wait_for_function(
        "old => document.querySelector('[data-testid=mlops-run-view]')?.dataset.runId !== old",
        arg=shown,
    )
    assert wait_for_run_status(page, ("succeeded", "failed", "cancelled")) == "failed"
    page.locator(tid("mlops-param-C")).fill("0.1")  # the notebook's own
    return shown_run_id(page)


def test_a_failure_line_links_to_the_source_cell(page, failed_run):
    open_tab(page, "pipeline")
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


def test_a_failed_step_is_debugged_in_the_notebook(page, lab, failed_run):
    """The failed step's "debug in this notebook" binds what it read in that run (checked by
    sha256) in the notebook's own kernel: its parameters with the run's values, its inputs."""
    open_tab(page, "pipeline")
    error = page.locator('[data-testid^="mlops-step-error-"]:not([data-testid*="-cell-"])').first
    step = error.get_attribute("data-testid").removeprefix("mlops-step-error-")
    button = page.locator(tid(f"mlops-step-debug-{step}"))
    assert button.inner_text() == "debug in this notebook"
    # only the failed step offers it
    assert (
        page.locator('[data-testid^="mlops-step-debug-"]:not([data-testid*="-note-"])').count() == 1
    )
    button.click()
    note = page.locator(tid(f"mlops-step-debug-note-{step}"))
    note.wait_for(timeout=120_000)
    said = note.inner_text()
    assert said.startswith(f"loaded {step}'s inputs from run {failed_run}: "), said
    assert "jp-mlops-note" in note.get_attribute("class")
    # the notebook's kernel holds them now: C as the failed run had it
    assert float(kernel_value(lab, "breast_cancer_diagnosis.ipynb", "C")) == -1
    note.scroll_into_view_if_needed()
    shoot(page, "pipeline-debug", "light")


def test_the_sidebar_at_jupyterlabs_default_width(page):
    """At 250 px the tabs stay one row, and nothing in the sidebar needs a sideways scroll: a
    run's steps, the parameters, the graph and the tag editor all fit."""
    set_sidebar_width(page, 250 + 33)  # the left bar of icons is 33 px wide
    try:
        width = page.locator(tid("mlops-sidebar")).bounding_box()["width"]
        assert 230 <= width <= 270, width
        tabs = page.locator(f"{tid('mlops-sidebar')} .jp-mlops-tabs .jp-mlops-tab")
        tops = {round(tabs.nth(i).bounding_box()["y"]) for i in range(tabs.count())}
        assert len(tops) == 1, tops
        open_tab(page, "pipeline")
        page.locator(tid("mlops-run-view")).wait_for()
        assert no_sideways_scroll(page, f"{tid('mlops-panel-pipeline')}") == []
        # the run's table shows each step's name and status, cut with an ellipsis if need be
        first = page.locator(f"{tid('mlops-run-view')} tr[data-status]").first
        assert first.locator(".jp-mlops-badge").is_visible()
        for theme in ("light", "dark"):
            set_theme(page, theme)
            to_top(page)
            shoot(page, "narrow-pipeline", theme)
        set_theme(page, "light")
        open_tab(page, "tags")
        assert no_sideways_scroll(page, f"{tid('mlops-panel-tags')}") == []
        shoot(page, "narrow-tags", "light")
        open_tab(page, "pipeline")
    finally:
        set_sidebar_width(page, SIDEBAR_WIDTH)


def test_no_uncaught_errors_or_vega_lite_warnings_in_the_page(page):
    assert not page.errors
    assert not [w for w in page.warnings if "Vega-Lite" in w or "vega-lite" in w], page.warnings
