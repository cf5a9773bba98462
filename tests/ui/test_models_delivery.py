"""The Models view shows how a version fared where it will run (its pre-deployment checks, a
serving process's refusal), every move of the model's aliases, and the gate's table per slice,
in a real JupyterLab.

The registry's story is made as a user makes it: v1 and v2 published and promoted, v3 (whose
predict raises) promoted and refused by a following service, then a rollback. A second model's
challenger wins overall but drops on one region: the gate (`promote --slices`) refuses it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support.serving import broken_model, publish, trained
from uikit import axe_violations, open_lab_page, open_view, shoot, tid

pytestmark = pytest.mark.slow
NAME = "delivered_model"
SLICED = "sliced_model"
REGIONS = {"east": 200, "north": 40, "south": 200, "west": 5}


def regional_rows(seed: int, sizes=REGIONS) -> tuple[pd.DataFrame, pd.Series]:
    """Labels follow x + z > 0 in every region."""
    rng = np.random.default_rng(seed)
    region = np.concatenate([[name] * n for name, n in sizes.items()])
    x, z = rng.normal(size=len(region)), rng.normal(size=len(region))
    frame = pd.DataFrame({"region": region, "x": x, "z": z})
    return frame, pd.Series((x + z > 0).astype(int), name="label")


def regional_models():
    """The champion sees x only (right about 3 times in 4, everywhere); the challenger sees x,
    z and the region, and learned the rule backwards in the north."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder
    from sklearn.tree import DecisionTreeClassifier

    X, y = regional_rows(1, {"east": 400, "north": 400, "south": 400, "west": 400})
    champion = make_pipeline(
        ColumnTransformer([("x", "passthrough", ["x"])]), LogisticRegression()
    ).fit(X, y)
    backwards = np.where(X["region"] == "north", 1 - y, y)
    challenger = make_pipeline(
        ColumnTransformer(
            [("region", OneHotEncoder(), ["region"]), ("xz", "passthrough", ["x", "z"])]
        ),
        DecisionTreeClassifier(random_state=0),
    ).fit(X, backwards)
    return champion, challenger


@pytest.fixture(scope="module")
def story(lab):
    from jupyter_mlops.registry.aliases import rollback
    from jupyter_mlops.registry.promote import promote
    from jupyter_mlops.retrain.slices import compare_slices
    from jupyter_mlops.serving import deploy_check, models
    from jupyter_mlops.serving.follow import Follower
    from jupyter_mlops.serving.live import Live
    from jupyter_mlops.serving.prediction_log import PredictionLog
    from jupyter_mlops.tracking import store

    uri = f"sqlite:///{lab.root.parent / 'mlflow.db'}"  # the lab's store (conftest.serving)
    for seed, accuracy in ((1, 0.90), (2, 0.95)):
        model, data = trained(seed=seed)
        publish(uri, NAME, model, data, accuracy)
    deploy_check.check(f"{NAME}/2", tracking_uri=uri)
    publish(uri, NAME, broken_model(), data, 0.99)
    # A service following the champion (v2) sees v3 and refuses it, as `nb2pipe serve` does.
    live = Live(models.load(f"{NAME}/2", uri), PredictionLog(lab.root.parent / "p.jsonl"))
    follower = Follower(live, uri, {"champion": "champion"}, echo=lambda line: None)
    follower.take(store.client(uri), "champion", "3")
    assert live.champion.version == "2"
    rollback(store.client(uri), NAME, why="v3 never answered")

    # The gate per slice, as `nb2pipe promote --slices region` runs it.
    champion, challenger = regional_models()
    X, y = regional_rows(2)
    publish(uri, SLICED, champion, X, 0.80)
    publish(uri, SLICED, challenger, X, 0.85, promote=False)
    table = compare_slices(challenger, champion, X, y, ["region"], "accuracy")
    decision = promote(SLICED, "accuracy", tracking_uri=uri, slices=table, slice_threshold=0.05)
    assert not decision.promoted and decision.reason.startswith("slice region=north"), decision
    return uri


@pytest.fixture(scope="module")
def page(browser, lab, story):
    page = open_lab_page(browser, lab, "breast_cancer_diagnosis.ipynb")
    yield page
    assert not page.errors
    page.context.close()


def choose(content, model: str, version: str) -> None:
    content.locator(f"{tid(f'mlops-model-{model}')} th button").click()
    content.locator(f"{tid(f'mlops-model-version-{version}')} th button").click()
    content.locator(f'{tid("mlops-version-detail")}[data-version="{version}"]').wait_for()


def test_the_models_view_shows_checks_and_alias_history(page, story):
    content = open_view(page, "models")
    content.locator(tid("mlops-models-reload")).click()  # published since the view first read
    choose(content, NAME, "3")

    checks = content.locator(tid("mlops-model-checks"))
    checks.locator(tid("mlops-check-answers")).wait_for()
    assert "Pre-deployment checks of v3: failed" in checks.locator("summary").inner_text()
    assert checks.locator(tid("mlops-check-answers")).get_attribute("data-ok") == "false"
    assert "the feature store does not answer" in checks.inner_text()
    refused = checks.locator(tid("mlops-model-rejected")).inner_text()
    assert refused.startswith("A serving process refused to swap it in:"), refused

    rows = content.locator(tid("mlops-alias-history-row"))
    assert rows.count() == 7  # 3 publishes, 3 gate promotions, 1 rollback
    newest = rows.first.inner_text()
    assert "v3 never answered" in newest and "v3 → v2" in newest, newest

    content.locator(f"{tid('mlops-model-version-2')} th button").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=mlops-model-checks] summary')"
        "?.innerText.includes('v2: passed')"
    )
    choose(content, NAME, "3")
    checks.locator(tid("mlops-check-answers")).wait_for()
    shoot(page, "models-delivery", "light")
    found = axe_violations(page, tid("mlops-models-view"))
    assert found == [], "\n".join(found)


def test_the_champion_is_rolled_back_from_the_models_view(page, story):
    """Roll back: one click moves champion to the champion before it (as `nb2pipe rollback`),
    says so, and the move joins the history with its reason. After the story's own rollback
    (v3 → v2), the one before v2 is v1; after this one there is none left to go back to."""
    content = open_view(page, "models")
    content.locator(tid("mlops-models-reload")).click()
    choose(content, NAME, "2")
    form = content.locator(tid("mlops-rollback-form"))
    button = form.locator(tid("mlops-rollback"))
    assert button.inner_text() == "Roll back champion to v1"
    assert "champion is v2; the champion before it was v1" in form.inner_text()
    form.locator(tid("mlops-rollback-reason")).fill("v2 answers slowly")
    form.scroll_into_view_if_needed()
    shoot(page, "models-rollback", "light")
    button.click()
    result = content.locator(tid("mlops-rollback-result"))
    result.wait_for()
    assert result.inner_text() == "champion now points at v1 (was v2)"
    rows = content.locator(tid("mlops-alias-history-row"))
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=mlops-alias-history-row]').length === 8"
    )
    newest = rows.first.inner_text()
    assert "v2 → v1" in newest and "v2 answers slowly" in newest, newest
    assert "champion" in content.locator(tid("mlops-model-version-1")).inner_text()
    # v2 and v3 were both rolled back from: nothing is left to roll back to, and it says so
    content.locator(tid("mlops-rollback-none")).wait_for()
    assert content.locator(tid("mlops-rollback")).count() == 0


def test_the_models_view_shows_the_gate_per_slice(page, story):
    content = open_view(page, "models")
    content.locator(tid("mlops-models-reload")).click()
    choose(content, SLICED, "2")
    slices = content.locator(tid("mlops-slices"))
    slices.locator(tid("mlops-slices-table")).wait_for()
    assert content.locator(tid("mlops-slices-none")).count() == 0
    assert "1 worse than allowed" in slices.locator("summary").inner_text()
    assert "a drop of more than 0.05 refuses the challenger" in slices.inner_text()
    north = slices.locator(tid("mlops-slice-region=north"))
    assert north.get_attribute("data-passed") == "false"
    assert "worse than allowed" in north.inner_text()
    assert slices.locator(tid("mlops-slice-region=east")).get_attribute("data-passed") == "true"
    west = slices.locator(tid("mlops-slice-region=west")).inner_text()
    assert "not judged: 5 rows, fewer than 30" in west
    # worst drop first, as the gate recorded it
    first = slices.locator("tbody tr").first.get_attribute("data-testid")
    assert first == "mlops-slice-region=north"
    assert content.locator(tid("mlops-model-version-2")).inner_text().count("rejected") == 1
    # v1 was never gated slice by slice: the section says so rather than show anything
    choose(content, SLICED, "1")
    assert content.locator(tid("mlops-slices-none")).count() == 1
    choose(content, SLICED, "2")
    slices.locator(tid("mlops-slices-table")).scroll_into_view_if_needed()
    shoot(page, "models-slices", "light")
