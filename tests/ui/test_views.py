"""The main-area views in a real JupyterLab: Experiments, Compare, Models and Data, opened from
the sidebar, the command palette and the launcher, each checked in the light and the dark
theme, with axe-core finding no serious or critical violation, and a screenshot of each in
build/screenshots/.

Two runs of a copy of the example notebook, in a folder of its own (the sidebar's tests edit
and save theirs), are started through the server's route: its own values, and test_size=0.3,
C=1.
"""

from __future__ import annotations

import os
import re
import shutil
import time

import pytest
from support.commands import run_script
from support.notebooks import code, write_notebook
from uikit import NOTEBOOK as EXAMPLE
from uikit import (
    axe_violations,
    open_lab_page,
    set_theme,
    shoot,
    start_run,
    tid,
)

# The first test's set-up runs the pipeline twice: on a busy machine that alone can take minutes.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

NOTEBOOK = "views/breast_cancer_diagnosis.ipynb"
STEPS = {"load", "scaled_features", "poly_features", "train", "evaluate"}
THEMES = ("light", "dark")
CHANGED = {"test_size": 0.3, "C": 1.0}


@pytest.fixture(scope="module")
def runs(lab) -> dict:
    (lab.root / "views").mkdir(exist_ok=True)
    shutil.copy(EXAMPLE, lab.root / NOTEBOOK)
    first = start_run(lab, NOTEBOOK)
    second = start_run(lab, NOTEBOOK, CHANGED)
    assert first["status"] == second["status"] == "succeeded", (first, second)
    return {"first": first, "second": second}


SWEPT = "sweeps/swept.ipynb"
ALPHAS = (0.5, 2.0, 1.0)  # scores 2.5, 7, 1: the best is alpha=2.0 (trial 1), and the
# score does not rise with alpha, so the parallel coordinates' lines cross


@pytest.fixture(scope="module")
def sweep(lab) -> dict:
    """A sweep of a small notebook over alpha, started with `nb2pipe sweep` in a terminal as a
    user would, logged to the lab's MLflow store; waited for until the server lists it."""
    folder = lab.root / "sweeps"
    (folder / "data.csv").parent.mkdir(exist_ok=True)
    (folder / "data.csv").write_text("x\n1\n2\n3\n")
    write_notebook(
        lab.root / SWEPT,
        code("alpha = 0.5\nshift = 1", "parameters"),
        code("import pandas as pd", "imports"),
        code("frame = pd.read_csv('data.csv')", "step:load"),
        code("score = float(frame.x.sum() * (alpha - 1) ** 2 + shift)", "step:train", "metrics"),
    )
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{lab.root.parent / 'mlflow.db'}"}
    env.pop("MLFLOW_EXPERIMENT_NAME", None)
    alphas = ",".join(str(a) for a in ALPHAS)
    done = run_script("nb2pipe", "sweep", "swept.ipynb", "-p", "alpha", alphas, "--metric",
                      "score", cwd=folder, timeout=600, env=env)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    experiment_name = lab.api(f"/mlops/experiments?path={SWEPT}")["notebook_experiment"]
    deadline = time.monotonic() + 240  # the tracking may finish in a detached process
    while time.monotonic() < deadline:
        found = lab.api("/mlops/experiments")["experiments"]
        experiment = next((e for e in found if e["name"] == experiment_name), None)
        if experiment is not None:
            rows = lab.api(f"/mlops/experiments/{experiment['id']}/runs")["runs"]
            sweeps = [r for r in rows if r["kind"] == "sweep"]
            if sweeps and sweeps[0]["status"] == "succeeded":
                detail = lab.api(f"/mlops/sweeps/{sweeps[0]['run_id']}")
                if detail["best"] is not None and len(detail["trials"]) == len(ALPHAS):
                    return {"experiment": experiment, "rows": rows, "detail": detail}
        time.sleep(1)
    raise AssertionError(f"the sweep did not reach the lab's store: {done.stdout[-2000:]}")


@pytest.fixture(scope="module")
def page(browser, lab, runs):
    page = open_lab_page(browser, lab, NOTEBOOK)
    yield page
    set_theme(page, "light")
    assert not page.errors
    page.context.close()


def view(page, name: str):
    """View `name`'s content, opened from the sidebar's button (shown if open already)."""
    page.locator(tid(f"mlops-open-{name}")).click()
    content = page.locator(f"{tid(f'mlops-{name}-view')}:visible")
    content.wait_for()
    return content


def theme_color(page, variable: str) -> str:
    """A theme variable as the browser computes colours (`rgb(…)`)."""
    return page.evaluate(
        """name => { const probe = document.createElement('div');
          probe.style.color = `var(${name})`; document.body.appendChild(probe);
          const value = getComputedStyle(probe).color; probe.remove(); return value; }""",
        variable,
    )


def check_accessible(page, name: str) -> None:
    selector = f"{tid(f'mlops-{name}-view')}"
    found = axe_violations(page, f"{selector}:not([hidden])")
    assert found == [], "\n".join(found)


def record_checks(lab, name: str, version: str) -> None:
    """Pre-deployment checks on a version, as `nb2pipe deploy check` records them (tags)."""
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{lab.root.parent / 'mlflow.db'}"  # the lab's store (conftest.serving)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    for key, value in {
        "deploy.check": "failed",
        "deploy.checked_at": "2026-12-07T10:00:00+0000",
        "deploy.checked_where": "local",
        "deploy.check.loads": "ok: loaded in 0.2 s",
        "deploy.check.answers": "failed: predict raised ValueError on the input example",
    }.items():
        client.set_model_version_tag(name, version, key, value)


def tab_through(page, start, presses: int) -> set[str]:
    """What the Tab key reaches from `start`: each focused element's test id or label."""
    start.focus()
    reached = set()
    for _ in range(presses):
        page.keyboard.press("Tab")
        reached.add(
            page.evaluate(
                "() => { const e = document.activeElement;"
                " return e.dataset.testid || e.getAttribute('aria-label') || e.tagName; }"
            )
        )
    return reached


def pipeline_row(page, run: dict):
    return page.locator(f'{tid("mlops-run-row")}[data-nb2pipe-run="{run["run_id"]}"]')


def test_views_open_from_the_palette_and_the_launcher(page):
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    palette = page.locator(".lm-CommandPalette-input")
    for _ in range(3):  # the key goes to the lab once it has the focus
        page.locator(".jp-NotebookPanel:visible .jp-Notebook").first.click()
        page.keyboard.press("Control+Shift+C")
        try:
            palette.wait_for(state="visible", timeout=5_000)
            break
        except PlaywrightTimeoutError:
            continue
    palette.fill("Open Models")
    page.locator(".lm-CommandPalette-item", has_text="Open Models").first.click()
    page.locator(f"{tid('mlops-models-view')}:visible").wait_for()
    page.locator(".lm-MenuBar-itemLabel", has_text="File").click()
    page.locator('.lm-Menu-itemLabel:text-is("New Launcher")').click()
    launcher = page.locator(".jp-Launcher:visible")
    section = launcher.locator(".jp-Launcher-section", has_text="MLOps")
    for label in ("Experiments", "Models", "Data"):
        assert section.locator(".jp-LauncherCard", has_text=label).count() == 1
    section.locator(".jp-LauncherCard", has_text="Data").click()
    page.locator(f"{tid('mlops-data-view')}:visible").wait_for()
    # one tab per view: opening it again shows the same tab
    assert page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Models").count() == 1


@pytest.mark.parametrize("theme", THEMES)
def test_experiments_lists_named_runs_with_their_steps(page, runs, theme):
    set_theme(page, theme)
    content = view(page, "experiments")
    first, second = pipeline_row(page, runs["first"]), pipeline_row(page, runs["second"])
    first.wait_for()
    second.wait_for()
    # names a person can say, the id one click away
    assert first.locator(".jp-mlops-runname-text").inner_text() == "breast_cancer_diagnosis"
    named = second.locator(".jp-mlops-runname-text").inner_text()
    assert named == "breast_cancer_diagnosis · test_size=0.3, C=1"
    assert runs["second"]["name"] == named  # the sidebar's status says the same
    second.locator(".jp-mlops-idbutton").click()
    mlflow_id = second.get_attribute("data-run-id")
    assert second.locator(".jp-mlops-runid").inner_text() == mlflow_id
    second.locator(".jp-mlops-idbutton").click()
    # its steps nested under it, each with its status in nb2pipe's words
    mlflow_first = first.get_attribute("data-run-id")
    page.locator(tid(f"mlops-run-steps-{mlflow_first}")).click()
    steps = page.locator(f'{tid("mlops-step-run-row")}[data-parent="{mlflow_first}"]')
    steps.first.wait_for()
    assert {steps.nth(i).get_attribute("data-step") for i in range(steps.count())} == STEPS
    statuses = steps.locator(".jp-mlops-badge").all_inner_texts()
    assert set(statuses) <= {"done", "cached"}, statuses
    assert "finished" not in " ".join(steps.all_inner_texts())
    # a parameter chosen as a column; numbers in one format
    page.locator(f"{tid('mlops-runs-columns')} > summary").click()
    page.locator(tid("mlops-column-p:C")).check()
    table = page.locator(tid("mlops-runs-table"))
    assert table.locator("thead").inner_text().split().count("C") == 1
    assert not re.search(r"\b\d\.\d{5,}\b", table.inner_text())  # 0.9861, not 0.98611111
    # the run column stays put while the others scroll sideways
    box = content.locator(".jp-mlops-runs-box")
    page.set_viewport_size({"width": 900, "height": 900})
    try:
        stick = first.locator("th.jp-mlops-stick")
        before = stick.bounding_box()["x"]
        box.evaluate("el => el.scrollTo(el.scrollWidth, 0)")
        page.wait_for_timeout(200)
        assert abs(stick.bounding_box()["x"] - before) < 1
    finally:
        page.set_viewport_size({"width": 1440, "height": 900})
    page.locator(f"{tid('mlops-metric-chart')} svg").wait_for()
    shoot(page, "experiments", theme)
    # every control is reached with the Tab key: sorting, a run's steps, its id, its tick box
    reached = tab_through(page, content.locator(tid("mlops-experiment-select")), 40)
    wanted = {
        "mlops-runs-sort-run",
        "mlops-runs-sort-status",
        f"mlops-run-steps-{mlflow_first}",
        f"mlops-run-select-{mlflow_first}",
        "show the id of run breast_cancer_diagnosis",
    }
    assert wanted <= reached, wanted - reached
    check_accessible(page, "experiments")
    page.locator(tid(f"mlops-run-steps-{mlflow_first}")).click()


@pytest.mark.parametrize("theme", THEMES)
def test_a_sweep_is_one_row_that_opens_to_its_trials_and_their_chart(page, sweep, theme):
    set_theme(page, theme)
    content = view(page, "experiments")
    content.locator(tid("mlops-runs-reload")).click()  # the sweep's experiment is new
    choice = content.locator(tid("mlops-experiment-select"))
    choice.locator(f'option[value="{sweep["experiment"]["id"]}"]').wait_for(state="attached")
    before = choice.input_value()
    choice.select_option(sweep["experiment"]["id"])
    rows = content.locator(tid("mlops-run-row"))
    row = content.locator(f'{tid("mlops-run-row")}[data-kind="sweep"]')
    row.wait_for()
    assert rows.count() == 1  # the trials are not rows of their own
    run_id = row.get_attribute("data-run-id")
    assert sweep["rows"][0]["run_id"] == run_id
    assert row.locator(".jp-mlops-badge").inner_text() == "succeeded"
    opener = content.locator(tid(f"mlops-run-trials-{run_id}"))
    if opener.get_attribute("aria-expanded") != "true":
        opener.click()
    trials = content.locator(tid("mlops-sweep-trial"))
    trials.nth(len(ALPHAS) - 1).wait_for()
    assert trials.count() == len(ALPHAS)
    line = content.locator(tid("mlops-sweep-line")).inner_text()
    assert line == "grid sweep of 3 trials over alpha, by score (max) · best: trial 1", line
    best = content.locator(f'{tid("mlops-sweep-trial")}[data-best="true"]')
    assert best.count() == 1 and best.get_attribute("data-trial") == "1"
    cells = best.locator("td").all_inner_texts()
    assert "2" in cells and "7" in cells and "succeeded" in cells, cells  # alpha, score
    assert best.locator(".jp-mlops-runname-text").inner_text().startswith("swept")
    # the parallel coordinates: one line per trial, across the alpha and score axes
    chart = content.locator(f"{tid('mlops-sweep-chart')} svg")
    chart.wait_for()
    assert chart.locator(".mark-line path").count() == len(ALPHAS)
    labels = chart.locator(".role-axis-label text").all_text_contents()
    assert {"alpha", "score"} <= set(labels), labels
    shoot(page, "experiments-sweep", theme)
    check_accessible(page, "experiments")
    opener.click()  # closed again: the next theme opens it afresh
    choice.select_option(before)  # back to the notebook's runs for the tests after this one


@pytest.mark.parametrize("theme", THEMES)
def test_compare_shows_two_runs_side_by_side(page, runs, theme):
    set_theme(page, theme)
    view(page, "experiments")
    for run in (runs["first"], runs["second"]):
        row = pipeline_row(page, run)
        row.wait_for()
        box = row.locator('input[type="checkbox"]')
        if not box.is_checked():
            box.check()
    page.locator(tid("mlops-runs-compare")).click()
    compare = page.locator(f"{tid('mlops-compare-view')}:visible")
    compare.locator(tid("mlops-compare")).wait_for()
    headings = [
        compare.locator(f"{tid(f'mlops-compare-column-{i}')} .jp-mlops-runname-text").inner_text()
        for i in (0, 1)
    ]
    assert sorted(headings) == [
        "breast_cancer_diagnosis",
        "breast_cancer_diagnosis · test_size=0.3, C=1",
    ]
    for i in (0, 1):  # a name and a short id on one line, not an id split over three
        heading = compare.locator(f"{tid(f'mlops-compare-column-{i}')} .jp-mlops-runname")
        assert heading.bounding_box()["height"] < 30
    changed = compare.locator(f'{tid("mlops-compare-row")}[data-changed="true"]')
    keys = {changed.nth(i).get_attribute("data-key") for i in range(changed.count())}
    assert {"C", "test_size"} <= keys, keys
    assert not keys & STEPS, keys  # steps differ by status, not by durations
    same = compare.locator(f'{tid("mlops-compare-row")}[data-key="max_depth"]')
    assert same.get_attribute("data-changed") == "false"
    # a changed row reads in this theme: the text colour on the second layer, no pale peach
    cell = changed.first.locator("td").first
    assert cell.evaluate("el => getComputedStyle(el).color") == theme_color(
        page, "--jp-ui-font-color1"
    )
    assert cell.evaluate("el => getComputedStyle(el).backgroundColor") == theme_color(
        page, "--jp-layout-color2"
    )
    # row names keep their full text in a tooltip
    assert changed.first.locator("th").get_attribute("title")
    compare.locator(f"{tid('mlops-compare-chart')} svg").wait_for()
    legend = compare.locator(f"{tid('mlops-compare-chart')} svg .role-legend text").first
    assert legend.evaluate("el => getComputedStyle(el).fill") == theme_color(
        page, "--jp-ui-font-color1"
    )
    shoot(page, "compare", theme)
    check_accessible(page, "compare")


def test_models_publish_promote_and_move_an_alias(page, runs):
    set_theme(page, "light")
    content = view(page, "models")
    content.locator(tid("mlops-publish-name")).fill("diagnosis_views")
    content.locator(tid("mlops-publish-run")).select_option(runs["first"]["run_id"])
    page.wait_for_function(
        "() => document.querySelector('[data-testid=mlops-models-view] "
        "[data-testid=mlops-publish-artifact]')?.value === 'model'"
    )
    content.locator(tid("mlops-publish-metric")).select_option("accuracy")
    content.locator(tid("mlops-publish")).click()
    # a long action says what it does while it goes, then its outcome
    progress = content.locator(tid("mlops-publish-progress"))
    progress.wait_for()
    assert "publishing diagnosis_views from breast_cancer_diagnosis" in progress.inner_text()
    result = content.locator(tid("mlops-publish-result"))
    result.wait_for(timeout=180_000)
    assert "diagnosis_views v1 challenger" in result.inner_text()
    assert progress.count() == 0

    content.locator(f"{tid('mlops-model-diagnosis_views')} th button").click()
    content.locator(tid("mlops-promote-metric")).fill("accuracy")
    content.locator(tid("mlops-promote")).click()
    decision = content.locator(tid("mlops-promote-result"))
    decision.wait_for(timeout=120_000)
    assert decision.get_attribute("data-promoted") == "true", decision.inner_text()
    version = content.locator(tid("mlops-model-version-1"))
    page.wait_for_function(
        "() => (document.querySelector('[data-testid=mlops-model-version-1]')"
        "?.dataset.aliases ?? '').includes('champion')"
    )
    # the version names the run it came from, by name
    assert "breast_cancer_diagnosis" in version.locator(".jp-mlops-runname-text").inner_text()

    # v2 from the second run; then champion moved to it by hand, with the reason
    content.locator(tid("mlops-publish-run")).select_option(runs["second"]["run_id"])
    content.locator(tid("mlops-publish")).click()
    page.wait_for_function(
        "() => (document.querySelector('[data-testid=mlops-models-view] "
        "[data-testid=mlops-publish-result]')?.innerText ?? '').includes('diagnosis_views v2')",
        timeout=180_000,
    )
    form = content.locator(tid("mlops-alias-form"))
    form.locator(tid("mlops-alias-name")).fill("champion")
    form.locator(tid("mlops-alias-version")).select_option("2")
    form.locator(tid("mlops-alias-reason")).fill("v2 from the wider test split")
    form.locator(tid("mlops-alias-move")).click()
    moved = form.locator(tid("mlops-alias-result"))
    moved.wait_for()
    assert moved.inner_text() == "champion now points at v2 (was v1)"
    history = content.locator(tid("mlops-alias-history-row"))
    page.wait_for_function(  # the history is read again after the move
        "() => document.querySelector('[data-testid=mlops-models-view] "
        "[data-testid=mlops-alias-history-row]')?.innerText.includes('wider test split')"
    )
    assert "v1 → v2" in history.first.inner_text()
    assert "v2 from the wider test split" in history.first.inner_text()
    page.wait_for_function(
        "() => (document.querySelector('[data-testid=mlops-model-version-2]')"
        "?.dataset.aliases ?? '').includes('champion')"
    )


@pytest.mark.parametrize("theme", THEMES)
def test_models_shows_versions_checks_slices_and_the_card(page, lab, runs, theme):
    set_theme(page, theme)
    content = view(page, "models")
    model = content.locator(tid("mlops-model-diagnosis_views"))
    if model.count() == 0:
        pytest.fail("test_models_publish_promote_and_move_an_alias publishes diagnosis_views first")
    record_checks(lab, "diagnosis_views", "2")
    content.locator(tid("mlops-models-reload")).click()  # recorded elsewhere: read again
    model.locator("th button").click()
    # v2's checks as `nb2pipe deploy check` records them: passed, failed, and why
    content.locator(f"{tid('mlops-model-version-2')} th button").click()
    answers = content.locator(tid("mlops-check-answers"))
    answers.wait_for()
    assert answers.get_attribute("data-ok") == "false"
    assert "predict raised ValueError" in answers.inner_text()
    assert content.locator(tid("mlops-check-loads")).get_attribute("data-ok") == "true"
    content.locator(f"{tid('mlops-model-version-1')} th button").click()
    detail = content.locator(f'{tid("mlops-version-detail")}[data-version="1"]')
    detail.wait_for()
    # what the registry holds, and where it holds nothing, said so (never made up)
    assert (
        detail.locator(tid("mlops-checks-none")).count()
        + detail.locator(f"{tid('mlops-model-checks')} table").count()
        == 1
    )
    assert (
        detail.locator(tid("mlops-slices-none")).count()
        + detail.locator(f"{tid('mlops-slices')} table").count()
        == 1
    )
    card = detail.locator(tid("mlops-model-card"))
    card.locator(".jp-RenderedMarkdown").wait_for()
    assert "diagnosis_views" in card.inner_text() and runs["first"]["run_id"] in card.inner_text()
    # the card's tables fit the view: nothing 530 px wide spills out of it
    overflow = card.evaluate(
        "el => [...el.querySelectorAll('table')].filter(t => "
        "t.getBoundingClientRect().right > el.getBoundingClientRect().right + 1).length"
    )
    assert overflow == 0
    # the model's name and its alias chips do not cover each other
    name = model.locator("th button").bounding_box()
    for chip in model.locator(".jp-mlops-chip").all():
        box = chip.bounding_box()
        assert box["x"] >= name["x"] + name["width"] or box["y"] >= name["y"] + name["height"]
    # the selected row is the theme's second layer, not a light blue left from the light theme
    selected = content.locator(f"{tid('mlops-model-diagnosis_views')} td").first
    assert selected.evaluate("el => getComputedStyle(el).backgroundColor") == theme_color(
        page, "--jp-layout-color2"
    )
    shoot(page, "models", theme)
    check_accessible(page, "models")


@pytest.mark.parametrize("theme", THEMES)
def test_data_profiles_and_drift_at_full_width(page, runs, theme):
    set_theme(page, theme)
    content = view(page, "data")
    page.wait_for_function(
        "id => [...document.querySelectorAll('[data-testid=mlops-data-run] option')]"
        ".some(o => o.value === id)",
        arg=runs["second"]["run_id"],
    )
    content.locator(tid("mlops-data-run")).select_option(runs["second"]["run_id"])
    content.locator(tid("mlops-data-step")).select_option("load")
    content.locator(tid("mlops-data-artifact")).select_option("train_df")
    content.locator(tid("mlops-drift-reference")).select_option(runs["first"]["run_id"])
    content.locator(tid("mlops-data-profile-button")).click()
    profile = content.locator(tid("mlops-data-profile"))
    profile.wait_for()
    assert profile.locator(tid("mlops-profile-column")).count() == 31  # 30 measurements + target
    content.locator(tid("mlops-data-drift-button")).click()
    drift = content.locator(tid("mlops-data-drift"))
    drift.wait_for()
    assert "mean radius" in drift.inner_text()
    chart = content.locator(f"{tid('mlops-drift-chart')} svg")
    chart.wait_for()
    assert chart.bounding_box()["width"] > 400  # the plot has room: not 0 px wide
    axis = chart.locator(".role-axis-label text").first
    assert axis.evaluate("el => getComputedStyle(el).fill") != theme_color(
        page, "--jp-layout-color1"
    )  # axes readable on the background
    shoot(page, "data", theme)
    check_accessible(page, "data")


def test_a_failing_view_leaves_the_sidebar_working(page):
    """A view that throws while rendering shows its error in place; the sidebar stays."""
    broken = '{"models": [{"name": "broken", "aliases": null, "latest_version": "1"}]}'

    def answer(route):
        route.fulfill(status=200, content_type="application/json", body=broken)

    page.route(re.compile(r".*/mlops/models(\?.*)?$"), answer)
    try:
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Models").locator(
            ".lm-TabBar-tabCloseIcon"
        ).click()
        page.locator(tid("mlops-open-models")).click()
        page.locator(tid("mlops-panel-error-Models")).wait_for()
        assert page.locator(tid("mlops-pipeline-graph-box")).get_attribute("data-steps")
    finally:
        page.unroute(re.compile(r".*/mlops/models(\?.*)?$"))
