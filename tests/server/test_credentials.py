"""Credentials of the tracking server never reach a response or the server's log.

The server's tracking URI carries a user and password, and a secret sits in the environment
as MLflow's clients expect; nothing listens at that URI, so every MLflow call fails with an
error that quotes what it tried.
"""

from __future__ import annotations

import pytest
from serverkit import free_port, jupyter_server

pytestmark = pytest.mark.slow

PASSWORD = "uri-pa55word-7f3k"
SECRET = "env-s3cret-9q2x"


@pytest.fixture(scope="module")
def exposed(tmp_path_factory):
    uri = f"http://ana:{PASSWORD}@127.0.0.1:{free_port()}"
    env = {
        "MLFLOW_TRACKING_USERNAME": "ana",
        "MLFLOW_TRACKING_PASSWORD": SECRET,
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",  # fail at once instead of backing off
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
    }
    with jupyter_server(tmp_path_factory, uri, env=env) as running:
        yield running


def assert_clean(text: str) -> None:
    assert PASSWORD not in text and SECRET not in text, text


def test_tracking_errors_do_not_leak_credentials(exposed):
    answers = [
        exposed.get("experiments"),
        exposed.get("experiments/1/runs"),
        exposed.get("mlflow-runs/0123456789abcdef0123456789abcdef"),
        exposed.get("models"),
        exposed.get("models/toy"),
        exposed.post("models/toy/promote", {"metric": "r2"}),
    ]
    for answer in answers:
        assert answer.status_code >= 400, answer.text
        assert answer.json()["error"]
        assert_clean(answer.text)


def test_a_run_survives_an_unreachable_tracking_server_without_leaking(exposed):
    answer = exposed.post("runs", {"path": "pipe.ipynb"})
    assert answer.status_code == 202, answer.text
    status = exposed.wait_run(answer.json()["run_id"])
    assert status["status"] == "succeeded", (status, exposed.log_tail())
    assert "mlflow_run_id" not in status  # not tracked: the store is down
    assert_clean(str(status))
    run_json = exposed.root / ".nb2pipe" / "runs" / status["run_id"] / "run.json"
    assert_clean(run_json.read_text())


def test_the_server_log_holds_no_credentials(exposed):
    exposed.get("experiments")  # at least one failure logged
    assert_clean(exposed.log.read_text(errors="replace"))
