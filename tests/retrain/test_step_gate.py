"""The model gate as a pipeline step: promoted when it wins, rejected when it loses."""

from __future__ import annotations

import json

import pytest
from support.project import code, write_notebook

from jupyter_mlops.errors import ModelGateError
from jupyter_mlops.metrics import evaluate, greater_is_better, score
from jupyter_mlops.registry.promote import CHALLENGER, CHAMPION, GateDecision
from jupyter_mlops.retrain.step_gate import decision_metrics
from jupyter_mlops.tracking import journal
from nb2pipe.runner import load_pipeline, run_pipeline


def gate_notebook(folder, model_name: str):
    return write_notebook(
        folder / "gated.ipynb",
        code(f"model_name = {model_name!r}\nstrong = True", "parameters"),
        code(
            "from sklearn.datasets import load_wine\n"
            "from sklearn.dummy import DummyClassifier\n"
            "from sklearn.linear_model import LogisticRegression\n"
            "from sklearn.model_selection import train_test_split\n"
            "from sklearn.pipeline import make_pipeline\n"
            "from sklearn.preprocessing import StandardScaler\n"
            "from jupyter_mlops.retrain.step_gate import gate",
            "imports",
        ),
        code(
            "X, y = load_wine(return_X_y=True, as_frame=True)\n"
            "X_train, X_test, y_train, y_test = train_test_split(\n"
            "    X, y, test_size=0.3, random_state=0, stratify=y)",
            "step:data",
        ),
        code(
            "if strong:\n"
            "    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))\n"
            "else:\n"
            "    model = DummyClassifier(strategy='most_frequent')\n"
            "model.fit(X_train, y_train)",
            "step:train",
        ),
        code(
            "decision = gate(model, X_test, y_test, name=model_name, metric='accuracy')\n"
            "promoted = decision.promoted",
            "step:validate_model",
        ),
    )


@pytest.mark.slow
def test_the_gate_decides_both_ways_inside_a_pipeline(tmp_path, tracking_uri, unique):
    from mlflow.tracking import MlflowClient

    notebook = gate_notebook(tmp_path, unique)
    workspace = tmp_path / ".nb2pipe"
    client = MlflowClient(tracking_uri, tracking_uri)

    first = run_pipeline(*load_pipeline(notebook), workspace=workspace)
    assert first.ok, first.failure()
    step = first.steps["validate_model"]
    assert step.metrics["gate_promoted"] == 1.0
    assert step.metrics["gate_accuracy"] > 0.9
    assert "gate_champion_accuracy" not in step.metrics
    assert str(client.get_model_version_by_alias(unique, CHAMPION).version) == "1"

    second = run_pipeline(*load_pipeline(notebook), workspace=workspace, params={"strong": False})
    assert second.ok, second.failure()
    assert second.steps["data"].status == "cached"
    step = second.steps["validate_model"]
    assert step.metrics["gate_promoted"] == 0.0
    assert step.metrics["gate_accuracy"] < 0.5  # the majority class of wine
    assert step.metrics["gate_champion_accuracy"] == first.metrics["gate_accuracy"]
    assert second.metrics["gate_promoted"] == 0.0  # visible among the run's metrics
    assert str(client.get_model_version_by_alias(unique, CHAMPION).version) == "1"
    challenger = client.get_model_version_by_alias(unique, CHALLENGER)
    assert str(challenger.version) == "2" and challenger.tags["gate.decision"] == "rejected"

    # The decision, readable in the step folder, the step's log and its MLflow run.
    folder = second.run_dir / "validate_model"
    recorded = json.loads((folder / "gate.json").read_text())
    assert recorded["promoted"] is False and recorded["champion_version"] == "1"
    assert recorded["summary"].startswith(f"{unique} version 2 stays challenger: accuracy")
    tags = journal.read(folder).tags
    assert tags["gate.decision"] == "rejected" and tags["gate.version"] == "2"
    assert f"gate: {unique} version 2 stays challenger" in (folder / "log.txt").read_text()


def test_metrics_by_name_and_direction():
    assert score("accuracy", [1, 0, 1, 1], [1, 0, 0, 1]) == 0.75
    assert score("rmse", [1.0, 2.0], [1.0, 4.0]) == pytest.approx(2**0.5)
    assert greater_is_better("accuracy") and not greater_is_better("mae")
    assert greater_is_better("roc_auc")  # a scikit-learn scorer: higher is better
    with pytest.raises(ModelGateError, match="unknown metric 'nope'"):
        score("nope", [1], [1])


def test_evaluate_uses_scikit_learn_scorers_for_other_names():
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    X, y = load_breast_cancer(return_X_y=True)
    model = LogisticRegression(max_iter=3000).fit(X, y)
    assert evaluate(model, X, y, "roc_auc") > 0.95
    with pytest.raises(ModelGateError, match="unknown metric 'not_a_scorer'"):
        evaluate(model, X, y, "not_a_scorer")
    with pytest.raises(ModelGateError, match="the held-out set is empty"):
        evaluate(model, X[:0], y[:0], "accuracy")


def test_decision_metrics():
    decision = GateDecision("m", "rmse", True, "why", "3", 0.5, "2", 0.7)
    assert decision_metrics(decision) == {
        "gate_rmse": 0.5,
        "gate_promoted": 1.0,
        "gate_champion_rmse": 0.7,
    }
