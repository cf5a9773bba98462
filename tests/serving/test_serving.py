"""A real `nb2pipe serve` process on 127.0.0.1: predictions with ids, logged, then the loops
serve → log → drift → trigger and feedback → live metric → degradation trigger."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from support.project import cli, error_lines, marker_notebook, runs_recorded
from support.serving import MODEL, features, publish_champion, truth

from jupyter_mlops.data.drift import drift_report
from jupyter_mlops.data.prediction_log import read_log
from jupyter_mlops.serving.monitoring import live_metric
from jupyter_mlops.serving.server import ServingError, parse_spec, resolve, start_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A model trained on `features(1000, seed=1)`, published, champion, served."""
    root = tmp_path_factory.mktemp("serving")
    uri = publish_champion(root)
    server = start_server(f"{MODEL}@champion", log=root / "predictions.jsonl", tracking_uri=uri)
    try:
        yield server, uri, root
    finally:
        assert server.stop() == 0, server.output.read_text()
        assert "stopped" in server.output.read_text()


def post(url: str, body: bytes, content_type: str = "application/json"):
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_predictions_get_ids_and_are_logged(served):
    server, _, root = served
    before = len(read_log(server.log))
    batch = features(5, seed=2)
    answer = server.predict(batch)
    assert answer["model"] == {"name": MODEL, "version": "1"}
    assert answer["predictions"] == truth(batch)
    ids = answer["prediction_ids"]
    assert len(set(ids)) == 5
    log = read_log(server.log).iloc[before:]
    assert list(log["id"]) == ids and set(log["version"]) == {"1"}
    assert log["x"].tolist() == pytest.approx(batch["x"].tolist())
    assert list(log["prediction"]) == answer["predictions"]

    records = json.dumps({"dataframe_records": batch.head(2).to_dict(orient="records")})
    status, body = post(server.url + "/invocations", records.encode())
    assert status == 200 and len(body["prediction_ids"]) == 2
    status, body = post(server.url + "/invocations", batch.to_csv(index=False).encode(), "text/csv")
    assert status == 200 and len(body["predictions"]) == 5
    assert len(read_log(server.log)) == before + 12

    with urllib.request.urlopen(server.url + "/model", timeout=10) as response:
        assert json.loads(response.read())["alias"] == "champion"
    status, body = post(server.url + "/invocations", b'{"rows": [1]}')
    assert status == 400 and "dataframe_split" in body["message"]
    status, body = post(server.url + "/invocations", b"not json")
    assert status == 400 and body["error_code"] == "BAD_REQUEST"
    status, body = post(server.url + "/feedback", b'{"prediction_id": "x"}')
    assert status == 400 and "label" in body["message"]
    assert len(read_log(server.log)) == before + 12  # failed requests log nothing


def test_unknown_models_are_one_line_errors(served, tmp_path):
    _, uri, _ = served
    for spec, expected in (
        ("nosuch", "no registered model named 'nosuch'"),
        (f"{MODEL}@nope", f"model '{MODEL}' has no alias 'nope' (aliases: challenger, champion)"),
    ):
        done = cli("serve", spec, "--port", "0", cwd=tmp_path, timeout=120, MLFLOW_TRACKING_URI=uri)
        assert done.returncode == 2, (spec, done.stderr)
        [line] = error_lines(done.stderr)
        assert expected in line
        assert "Traceback" not in done.stderr
    with pytest.raises(ServingError, match="no registered model named 'nosuch'"):
        start_server("nosuch", log=tmp_path / "p.jsonl", tracking_uri=uri)
    with pytest.raises(ServingError, match=f"model '{MODEL}' has no version '9'"):
        resolve(f"{MODEL}/9", uri)
    with pytest.raises(ServingError, match="give a model as NAME, NAME@ALIAS or NAME/VERSION"):
        resolve("@x", uri)
    assert resolve(MODEL, uri).version == "1"  # the champion by default
    assert parse_spec("models:/m/3") == ("m", None, "3")
    assert parse_spec("m") == ("m", "champion", None)


def test_serve_log_drift_trigger_loop(served, tmp_path):
    server, uri, root = served
    notebook = marker_notebook(tmp_path)
    reference = root / "reference.parquet"
    log = tmp_path / "drift.jsonl"
    # This test's own traffic: a copy of the log from here on (the server's log is shared).
    start = len(read_log(server.log))
    watch = (
        "watch",
        notebook,
        "--log",
        log,
        "--reference",
        reference,
        "--min-rows",
        "100",
        "--once",
    )

    def traffic(frame):
        server.predict(frame)
        lines = server.log.read_text().splitlines()[start:]
        log.write_text("\n".join(lines) + "\n")

    traffic(features(200, seed=3))
    assert not drift_report(reference, log).drifted
    done = cli(*watch, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "watch drift: no drift in 2 features (200 rows vs 1000 reference rows) -> no run" in (
        done.stdout
    )
    assert runs_recorded(tmp_path) == 0

    traffic(features(300, seed=4, shift=1.5))
    report = drift_report(reference, log)
    assert report.drifted_features == ["x"]
    done = cli(*watch, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "watch drift: 1 of 2 features drifted: x (500 rows vs 1000 reference rows) -> run" in (
        done.stdout
    )
    assert "succeeded in" in done.stdout and runs_recorded(tmp_path) == 1
    # The episode is consumed: only predictions made after the run started count now.
    done = cli(*watch, cwd=tmp_path)
    assert "watch drift: 0 new predictions, fewer than 100 -> no run" in done.stdout
    assert runs_recorded(tmp_path) == 1


def test_feedback_live_metric_degradation_trigger_loop(served, tmp_path):
    from mlflow.tracking import MlflowClient

    server, uri, root = served
    notebook = marker_notebook(tmp_path)
    watch = (
        "watch",
        notebook,
        "--log",
        server.log,
        "--metric",
        "accuracy",
        "--below",
        "0.8",
        "--window",
        "3650D",
        "--min-labels",
        "40",
        "--once",
    )
    # Ground truth arrives for 50 predictions: the model is right.
    batch = features(50, seed=5)
    answer = server.predict(batch)
    server.feedback(answer["prediction_ids"], truth(batch))
    done = cli(*watch, cwd=tmp_path, MLFLOW_TRACKING_URI=uri)
    assert done.returncode == 0, done.stderr
    assert "watch live-metric: accuracy 1 >= 0.8 (served version 1, 50 labelled" in done.stdout
    assert runs_recorded(tmp_path) == 0

    # The world changes (the label boundary moves): the served model degrades.
    batch = features(100, seed=6, shift=1.0)
    answer = server.predict(batch)
    server.feedback(answer["prediction_ids"], truth(batch, boundary=1.0))
    result = live_metric(server.log, "accuracy", window="3650D", tracking_uri=uri)
    [row] = result.itertuples()
    assert row.version == "1" and row.count == 150 and row.value < 0.8
    client = MlflowClient(uri, uri)
    version = client.get_model_version(MODEL, "1")
    assert float(version.tags["live.accuracy"]) == pytest.approx(row.value)
    history = client.get_metric_history(version.tags["live.monitoring_run"], "live_accuracy")
    latest = max(history, key=lambda m: m.timestamp)
    assert latest.value == pytest.approx(row.value)

    done = cli(*watch, cwd=tmp_path, MLFLOW_TRACKING_URI=uri)
    assert done.returncode == 0, done.stderr
    assert f"watch live-metric: accuracy {row.value:.4g} < 0.8 (served version 1" in done.stdout
    assert "-> run" in done.stdout and runs_recorded(tmp_path) == 1
