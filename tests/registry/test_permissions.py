"""Against `mlflow server --app-name basic-auth`: a READ user reads and loads, never publishes."""

from __future__ import annotations

import pytest

import jupyter_mlops
from jupyter_mlops.errors import RegistryPermissionError
from jupyter_mlops.registry.promote import CHALLENGER
from jupyter_mlops.tracking import store
from jupyter_mlops.tracking.session import SESSION
from nb2pipe.errors import Nb2PipeError

pytestmark = pytest.mark.slow


def login(monkeypatch, url: str, user: tuple[str, str]) -> None:
    SESSION.reset()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user[0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", user[1])


def test_a_read_user_is_refused_in_one_line(auth_server, monkeypatch, unique: str):
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_iris(return_X_y=True, as_frame=True)
    model = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)

    login(monkeypatch, auth_server.url, auth_server.admin)
    jupyter_mlops.set_experiment(unique)
    published = jupyter_mlops.publish_model(model, unique, metrics={"accuracy": 0.9})
    assert jupyter_mlops.promote(unique, "accuracy").promoted

    login(monkeypatch, auth_server.url, auth_server.reader)
    jupyter_mlops.set_experiment(unique)
    # READ: runs and models can be read and loaded...
    assert jupyter_mlops.recent_runs(5)[0]["run_id"] == published.run_id
    import mlflow.sklearn

    with store.fluent_uri(auth_server.url):
        loaded = mlflow.sklearn.load_model(f"models:/{unique}@{CHALLENGER}")
    assert list(loaded.predict(X.head(2))) == list(model.predict(X.head(2)))

    # ...but not changed: publishing and moving aliases stop with one line saying so.
    with pytest.raises(RegistryPermissionError) as refused:
        jupyter_mlops.publish_model(model, unique, metrics={"accuracy": 0.99})
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("permission denied: user 'reader' has read-only access")
    assert f"cannot publish model '{unique}'" in message
    assert isinstance(refused.value, Nb2PipeError) and refused.value.__cause__ is None
    assert refused.value.__suppress_context__  # no MLflow traceback chained to it

    with pytest.raises(RegistryPermissionError) as refused:
        jupyter_mlops.promote(unique, "accuracy")
    assert "\n" not in str(refused.value)
    assert f"cannot move the aliases of model '{unique}'" in str(refused.value)


def test_no_credentials_is_one_line_too(auth_server, monkeypatch, unique: str):
    SESSION.reset()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", auth_server.url)
    with pytest.raises(RegistryPermissionError) as refused:
        jupyter_mlops.promote(unique, "accuracy")
    message = str(refused.value)
    assert "\n" not in message and message.startswith(f"not logged in to {auth_server.url}")
