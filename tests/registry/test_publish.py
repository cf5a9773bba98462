"""Publishing documented models and the champion/challenger gate, on both stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.mlflow_server import code, markdown, write_notebook

import jupyter_mlops
from jupyter_mlops.errors import ModelGateError
from jupyter_mlops.registry.promote import CHALLENGER, CHAMPION
from jupyter_mlops.tracking import store

PURPOSE = "# Iris species\n\nTells the three iris species apart from four measurements."


@pytest.fixture(scope="module")
def iris():
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    return LogisticRegression(max_iter=500).fit(X, y), X


class Doubler:
    """Not a scikit-learn model: published as a pickled pyfunc."""

    def predict(self, frame):
        return frame * 2


def test_publish_logs_registers_documents_and_aliases(
    tracking_uri: str, client, unique: str, iris, tmp_path: Path
):
    model, X = iris
    notebook = write_notebook(tmp_path / "iris.ipynb", markdown(PURPOSE), code("x = 1"))
    jupyter_mlops.set_experiment(unique)
    jupyter_mlops.log_params(C=1.0, max_iter=500)
    published = jupyter_mlops.publish_model(
        model, unique, metric="accuracy", metrics={"accuracy": 0.97}, data=X, notebook=notebook
    )
    assert (published.version, published.alias) == ("1", CHALLENGER)
    assert published.model_uri == f"models:/{unique}/1"

    version = client.get_model_version_by_alias(unique, CHALLENGER)
    assert str(version.version) == "1" and version.run_id == published.run_id
    assert version.current_stage == "None"  # aliases only, never stages
    card = version.description
    assert card == published.card
    assert card.startswith(f"# Model card: {unique} — version 1")
    assert "### Iris species\n\nTells the three iris species apart" in card
    assert "| accuracy (gate) | 0.97 |" in card
    assert "| C | 1.0 |" in card and "| max_iter | 500 |" in card
    assert "150 rows, 4 columns" in card and "| sepal length (cm) | float64 |" in card
    assert "| 5.1 | 3.5 | 1.4 | 0.2 |" in card  # a sample row
    assert "| notebook | `iris.ipynb` |" in card  # relative to its project's root
    assert f"| MLflow run | `{published.run_id}` |" in card
    assert "- `scikit-learn==" in card

    tags = version.tags
    assert tags["metric.accuracy"] == "0.97" and tags["gate.metric"] == "accuracy"
    assert tags["model.flavor"] == "sklearn"
    assert tags["model.class"].endswith("LogisticRegression")
    assert len(tags["data.sha256"]) == 64 and tags["published_by"]

    card_file = client.download_artifacts(
        published.run_id, f"model_cards/{unique}-v1.md", str(tmp_path)
    )
    assert Path(card_file).read_text() == card
    run = client.get_run(published.run_id)
    assert run.data.metrics["accuracy"] == 0.97

    import mlflow.sklearn

    with store.fluent_uri(tracking_uri):
        loaded = mlflow.sklearn.load_model(f"models:/{unique}@{CHALLENGER}")
        requirements = Path(
            mlflow.artifacts.download_artifacts(
                f"models:/{unique}/1/requirements.txt", dst_path=str(tmp_path / "reqs")
            )
        ).read_text()
    assert list(loaded.predict(X.head(3))) == list(model.predict(X.head(3)))
    assert "scikit-learn==" in requirements and "skops==" in requirements


def test_a_forest_loads_back_although_skops_distrusts_trees(tracking_uri: str, unique: str, iris):
    from sklearn.ensemble import RandomForestClassifier

    X = iris[1]
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, iris[0].predict(X))
    jupyter_mlops.set_experiment(unique)
    jupyter_mlops.publish_model(forest, unique, metrics={"accuracy": 1.0})
    import mlflow.sklearn

    with store.fluent_uri(tracking_uri):
        loaded = mlflow.sklearn.load_model(f"models:/{unique}@{CHALLENGER}")
    assert list(loaded.predict(X.head(5))) == list(forest.predict(X.head(5)))


def test_a_model_without_scikit_learn_is_a_pyfunc(tracking_uri: str, client, unique: str):
    import pandas as pd

    jupyter_mlops.set_experiment(unique)
    published = jupyter_mlops.publish_model(Doubler(), unique, metrics={"error": 0.0})
    version = client.get_model_version(unique, published.version)
    assert version.tags["model.flavor"] == "pyfunc"
    import mlflow.pyfunc

    with store.fluent_uri(tracking_uri):
        loaded = mlflow.pyfunc.load_model(f"models:/{unique}@{CHALLENGER}")
    assert loaded.predict(pd.DataFrame({"x": [1.0, 2.0]}))["x"].tolist() == [2.0, 4.0]


def test_the_gate_metric_needs_a_value(tracking_uri: str, unique: str, iris):
    jupyter_mlops.set_experiment(unique)
    with pytest.raises(ModelGateError, match="metric 'f1' has no value") as error:
        jupyter_mlops.publish_model(iris[0], unique, metric="f1")
    assert "\n" not in str(error.value)


def test_the_gate_moves_champion_only_when_the_challenger_wins(
    tracking_uri: str, client, unique: str, iris
):
    model = iris[0]
    jupyter_mlops.set_experiment(unique)
    with pytest.raises(ModelGateError, match="no 'challenger' version"):
        jupyter_mlops.promote(unique, "accuracy")

    def publish(accuracy: float, rmse: float) -> str:
        with jupyter_mlops.start_run(f"candidate {accuracy}"):
            metrics = {"accuracy": accuracy, "rmse": rmse}
            return jupyter_mlops.publish_model(model, unique, metrics=metrics).version

    def champion() -> str:
        return str(client.get_model_version_by_alias(unique, CHAMPION).version)

    v1 = publish(0.80, 0.5)
    first = jupyter_mlops.promote(unique, "accuracy")
    assert first.promoted and "no champion yet" in first.reason and champion() == v1

    v2 = publish(0.75, 0.4)
    worse = jupyter_mlops.promote(unique, "accuracy")
    assert not worse.promoted and champion() == v1
    assert (worse.challenger_value, worse.champion_value) == (0.75, 0.80)
    tags = client.get_model_version(unique, v2).tags
    assert tags["gate.decision"] == "rejected"
    assert (tags["gate.challenger_value"], tags["gate.champion_value"]) == ("0.75", "0.8")
    assert tags["gate.champion_version"] == v1 and tags["gate.direction"] == "higher"
    assert str(client.get_model_version_by_alias(unique, CHALLENGER).version) == v2

    # the same challenger wins on a metric where lower is better
    lower = jupyter_mlops.promote(unique, "rmse", greater_is_better=False)
    assert lower.promoted and champion() == v2
    assert client.get_model_version(unique, v2).tags["gate.decision"] == "promoted"

    v3 = publish(0.78, 0.39)  # better than v2's 0.75, but not by the threshold
    assert not jupyter_mlops.promote(unique, "accuracy", threshold=0.05).promoted
    assert champion() == v2
    assert jupyter_mlops.promote(unique, "accuracy", threshold=0.01).promoted
    assert champion() == v3
    again = jupyter_mlops.promote(unique, "accuracy")
    assert not again.promoted and "already the champion" in again.reason
    versions = client.search_model_versions(f"name = '{unique}'")
    assert {v.current_stage for v in versions} == {"None"}


@pytest.mark.slow
def test_a_model_published_in_a_pipeline_step_carries_its_lineage(
    tracking_uri: str, client, unique: str, tmp_path: Path
):
    from jupyter_mlops.tracking.observer import MlflowTracker
    from nb2pipe.runner import load_pipeline, run_pipeline

    notebook = write_notebook(
        tmp_path / "iris_pipeline.ipynb",
        markdown("# Iris pipeline\n\nA classifier trained step by step."),
        code("C = 0.5", "parameters"),
        code(
            "import jupyter_mlops\nfrom sklearn.datasets import load_iris\n"
            "from sklearn.linear_model import LogisticRegression",
            "imports",
        ),
        code("X, y = load_iris(return_X_y=True, as_frame=True)", "step:load"),
        code(
            "model = LogisticRegression(C=C, max_iter=500).fit(X, y)\n"
            "accuracy = float(model.score(X, y))\n"
            f"published = jupyter_mlops.publish_model(model, {unique!r}, metric='accuracy',"
            " metrics={'accuracy': accuracy}, data=X)",
            "step:train",
        ),
    )
    tracker = MlflowTracker(experiment=unique)
    result = run_pipeline(
        *load_pipeline(notebook), workspace=tmp_path / ".nb2pipe", observers=[tracker]
    )
    assert result.ok, result.failure()

    version = client.get_model_version_by_alias(unique, CHALLENGER)
    card = version.description
    manifest = json.loads((result.run_dir / "load/artifacts/manifest.json").read_text())
    assert "### Iris pipeline\n\nA classifier trained step by step." in card
    assert f"| pipeline run | `{result.run_id}` |" in card
    assert "| pipeline step | `train` |" in card
    assert f"| load.X | `{manifest['artifacts']['X']['sha256']}` |" in card
    assert "| C | 0.5 |" in card
    assert version.tags["nb2pipe.run_id"] == result.run_id
    # the run that logged the model is nested under the step's run once the pipeline is logged
    step_run = client.get_run(
        json.loads((result.run_dir / "run.json").read_text())["mlflow_step_runs"]["train"]
    )
    assert step_run.data.tags["nb2pipe.models"] == f"{unique}:{version.version}"
    model_run = client.get_run(version.run_id)
    assert model_run.data.tags["mlflow.parentRunId"] == step_run.info.run_id


@pytest.mark.slow
def test_the_same_model_published_twice_is_the_same_version(
    tracking_uri: str, client, unique: str, tmp_path: Path
):
    """A re-run served whole by the cache holds the very same model file: publishing it again
    returns the version that has it (`make demo` twice made version 2); a new model is new."""
    from support.commands import run_script

    from jupyter_mlops.registry.publish_run import publish_from_run
    from jupyter_mlops.tracking.observer import MlflowTracker
    from nb2pipe.runner import load_pipeline, run_pipeline
    from nb2pipe.runner.rundir import RunDir

    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    notebook = write_notebook(
        tmp_path / "iris.ipynb",
        code("C = 0.5", "parameters"),
        code(
            "from sklearn.datasets import load_iris\nX, y = load_iris(return_X_y=True)", "step:load"
        ),
        code(
            "from sklearn.linear_model import LogisticRegression\n"
            "model = LogisticRegression(C=C, max_iter=500).fit(X, y)",
            "step:train",
        ),
        code("accuracy = float(model.score(X, y))", "step:evaluate"),
        code("accuracy", "metrics"),
    )
    workspace = tmp_path / ".nb2pipe"

    def run(**params):
        tracker = MlflowTracker(experiment=unique)
        result = run_pipeline(
            *load_pipeline(notebook), workspace=workspace, params=params, observers=[tracker]
        )
        assert result.ok, result.failure()
        return result

    def publish_cli():
        return run_script(
            "nb2pipe", "publish", notebook, "--name", unique, "--metric", "accuracy",
            "--workspace", workspace, cwd=tmp_path, timeout=300,
        )  # fmt: skip

    run()
    first = publish_cli()
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"published {unique} version 1 (alias challenger)")
    # MLflow's INFO lines and its "Failed to resolve installed pip version" stay out
    assert "INFO" not in first.stdout + first.stderr and "pip version" not in first.stderr

    cached = run()
    assert all(s.status == "cached" for s in cached.steps.values())
    again = publish_from_run(RunDir(cached.run_dir), unique, tracking_uri=tracking_uri)
    assert again.already and (again.version, again.alias) == ("1", CHALLENGER)
    assert again.model_uri == f"models:/{unique}/1" and "accuracy" in again.metrics

    other = publish_from_run(RunDir(run(C=2.0).run_dir), unique, tracking_uri=tracking_uri)
    assert not other.already and other.version == "2"
    done = publish_cli()
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"already published: {unique} version 2 is this very model")
    assert "artifact 'model' of step 'train'" in done.stdout
    assert len(client.search_model_versions(f"name = '{unique}'")) == 2
