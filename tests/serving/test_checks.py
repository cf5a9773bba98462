"""The pre-deployment checks on real MLflow models saved here: each check passes on a sound
model, and each fails, with its reason, on a model that has that fault."""

from __future__ import annotations

import time

import mlflow.pyfunc
import pytest
from support.serving import features, truth

from jupyter_mlops.registry.expected import as_request, predictions_json
from jupyter_mlops.serving import checks, models
from jupyter_mlops.serving.models import ServedModel

ROWS = features(5, seed=3)


class Boundary(mlflow.pyfunc.PythonModel):
    """Labels as the world does; `delay` seconds per call (a slow model)."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay

    def predict(self, context, model_input, params=None):
        if self.delay:
            time.sleep(self.delay)
        return truth(model_input)


def saved(folder, delay: float = 0.0):
    from mlflow.models import infer_signature

    mlflow.pyfunc.save_model(
        str(folder),
        python_model=Boundary(delay),
        signature=infer_signature(ROWS, truth(ROWS)),
        pip_requirements=[f"pandas=={__import__('pandas').__version__}"],
    )
    return folder


@pytest.fixture(scope="module")
def fast(tmp_path_factory):
    return saved(tmp_path_factory.mktemp("fast") / "model")


def expected(predictions=None):
    return {**as_request(ROWS), "predictions": predictions_json(predictions or truth(ROWS))}


def by_name(report) -> dict[str, checks.Check]:
    return {c.name: c for c in report.checks}


def test_a_sound_model_passes_every_check(fast):
    model = ServedModel("m", "2", "champion")
    report, loaded = checks.run_local(model, fast, expected())
    assert report.ok, report.checks
    assert [c.name for c in report.checks] == list(checks.CHECKS)
    assert by_name(report)["predictions"].detail == "5 equal to those recorded at publish"
    assert loaded is not None and loaded.version == "2"
    assert report.tags()["deploy.check"] == "passed" and report.lines() == []


def test_each_fault_fails_its_check_with_the_reason(fast, tmp_path):
    model = ServedModel("m", "3", "champion")
    wrong = truth(ROWS)
    wrong[2] = 1 - wrong[2]
    report, _ = checks.run_local(model, fast, expected(wrong))
    assert not report.ok
    assert report.lines() == [
        f"m version 3: predictions: 1 of 5 differ from those recorded at publish "
        f"(row 2: {truth(ROWS)[2]!r} instead of {wrong[2]!r})"
    ]

    report, _ = checks.run_local(model, fast, None)
    assert by_name(report)["answers"].detail.startswith("no input example and no rows recorded")

    broken = tmp_path / "broken"
    broken.mkdir()
    report, loaded = checks.run_local(model, broken, expected())
    assert loaded is None and not by_name(report)["loads"].ok
    assert {c.name for c in report.failed} == set(checks.CHECKS[1:])

    (tmp_path / "needs").mkdir()
    (tmp_path / "needs" / "requirements.txt").write_text(
        "mlflow\nno-such-distribution==1.0\npandas==0.0.1\n# a comment\n"
    )
    assert models.missing_requirements(tmp_path / "needs") == [
        "no-such-distribution==1.0 wanted, not installed",
        f"pandas==0.0.1 wanted, {__import__('pandas').__version__} installed",
    ]


def test_a_slower_model_than_the_champion_is_over_budget(fast, tmp_path):
    champion = models.load_local(ServedModel("m", "1", "champion"), fast)
    slow = saved(tmp_path / "slow", delay=0.03)
    report, _ = checks.run_local(ServedModel("m", "2", None), slow, expected(), baseline=champion)
    latency = by_name(report)["latency"]
    assert not latency.ok and "(timing 3 of 3)" in latency.detail
    assert "champion version 1" in latency.detail
    report, _ = checks.run_local(
        ServedModel("m", "2", None), slow, expected(), baseline=champion, budget_ms=500
    )
    assert report.ok and "budget 500.00 ms (given)" in by_name(report)["latency"].detail
