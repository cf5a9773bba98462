"""The Models panel shows how a version fared where it will run (its pre-deployment checks, a
serving process's refusal) and every move of the model's aliases, in a real JupyterLab.

The registry's story is made as a user makes it: v1 and v2 published and promoted, v3 (whose
predict raises) promoted and refused by a following service, then a rollback.
"""

from __future__ import annotations

import pytest
from servingkit import broken_model, publish, trained
from uikit import open_sidebar

pytestmark = pytest.mark.slow
NAME = "delivered_model"


def tid(name: str) -> str:
    return f'[data-testid="{name}"]'


def widen_sidebar(page, width: int) -> None:
    """Drag the handle between the left sidebar and the documents, as a user would."""
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
    box = handle.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(width, y, steps=8)
    page.mouse.up()


@pytest.fixture(scope="module")
def story(lab):
    from jupyter_mlops.registry.aliases import rollback
    from jupyter_mlops.serving import checks, models
    from jupyter_mlops.serving.follow import Follower
    from jupyter_mlops.serving.live import Live
    from jupyter_mlops.serving.prediction_log import PredictionLog
    from jupyter_mlops.tracking import store

    uri = f"sqlite:///{lab.root.parent / 'mlflow.db'}"
    for seed, accuracy in ((1, 0.90), (2, 0.95)):
        model, data = trained(seed=seed)
        publish(uri, NAME, model, data, accuracy)
    checks.check(f"{NAME}/2", tracking_uri=uri)
    publish(uri, NAME, broken_model(), data, 0.99)
    # A service following the champion (v2) sees v3 and refuses it, as `nb2pipe serve` does.
    live = Live(models.load(f"{NAME}/2", uri), PredictionLog(lab.root.parent / "p.jsonl"))
    follower = Follower(live, uri, {"champion": "champion"}, echo=lambda line: None)
    follower.take(store.client(uri), "champion", "3")
    assert live.champion.version == "2"
    rollback(store.client(uri), NAME, why="v3 never answered")
    return uri


def test_the_models_panel_shows_checks_and_alias_history(browser, lab, story, screenshots):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(f"{lab.url}/lab?token={lab.token}")
        open_sidebar(page)
        widen_sidebar(page, 780)
        page.locator(tid("mlops-tab-models")).click()
        page.locator(tid(f"mlops-model-{NAME}")).click()
        page.locator(tid("mlops-model-version-3")).click()

        checks = page.locator(tid("mlops-model-checks"))
        checks.locator(tid("mlops-check-answers")).wait_for()
        summary = checks.locator("summary").inner_text()
        assert "Deployment checks of v3: failed" in summary
        assert checks.locator(tid("mlops-check-answers")).get_attribute("data-ok") == "false"
        assert "the feature store does not answer" in checks.inner_text()
        assert "not swapped in by the service" in checks.inner_text()

        history = page.locator(tid("mlops-alias-history"))
        rows = history.locator("tr")
        assert rows.count() == 7  # 3 publishes, 3 gate promotions, 1 rollback
        assert (
            "rollback" in rows.first.inner_text() and "v3 never answered" in rows.first.inner_text()
        )
        assert "v3 → v2" in rows.first.inner_text().replace("\u2192", "→")

        page.locator(tid("mlops-model-version-2")).click()
        page.wait_for_function(
            "() => document.querySelector('[data-testid=mlops-model-checks] summary')"
            "?.innerText.includes('v2: passed')"
        )
        page.locator(tid("mlops-model-version-3")).click()
        checks.locator(tid("mlops-check-answers")).wait_for()
        page.locator(tid(f"mlops-model-{NAME}")).scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        page.screenshot(path=str(screenshots / "models-delivery.png"))
    finally:
        context.close()
