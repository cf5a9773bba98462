"""Ground truth joined by prediction id, the live metric per window, logged per model version."""

from __future__ import annotations

import pytest

from jupyter_mlops.retrain.triggers import MetricTrigger
from jupyter_mlops.serving.monitoring import (
    MonitoringError,
    feedback_path,
    labelled,
    live_metric,
    record_feedback,
)
from jupyter_mlops.serving.prediction_log import PredictionLog

HOUR = 3600.0
T0 = 1_700_000_000.0 - (1_700_000_000.0 % HOUR)  # on the hour


def write_log(path, rows):
    """rows: (id, ts, version, prediction)."""
    PredictionLog(path).append(
        [
            {"id": i, "ts": ts, "model": "m", "version": v, "inputs": {"x": 1.0}, "prediction": p}
            for i, ts, v, p in rows
        ]
    )
    return path


@pytest.fixture
def log(tmp_path):
    rows = [(f"a{i}", T0 + 60 * i, "1", 1) for i in range(10)]  # hour 0: version 1
    rows += [(f"b{i}", T0 + HOUR + 60 * i, "1", 1) for i in range(10)]  # hour 1: version 1
    rows += [(f"c{i}", T0 + HOUR + 90 * i, "2", 0) for i in range(4)]  # hour 1: version 2
    return write_log(tmp_path / "predictions.jsonl", rows)


def test_feedback_is_joined_by_prediction_id(log):
    assert feedback_path(log).name == "predictions.feedback.jsonl"
    assert record_feedback(log, "a0", 1) == 1
    assert record_feedback(log, ["a1", "a2"], [0, 1]) == 2
    assert record_feedback(log, {"a1": 1, "unknown": 3}) == 2  # a1 corrected; unknown ignored
    joined = labelled(log)
    assert list(joined["id"]) == ["a0", "a1", "a2"]
    assert list(joined["label"]) == [1, 1, 1]  # the latest label of an id wins
    assert list(joined.columns) == ["id", "ts", "model", "version", "prediction", "label"]


def test_live_metric_per_window_and_version(log):
    record_feedback(log, {f"a{i}": 1 if i < 8 else 0 for i in range(10)})  # 0.8
    record_feedback(log, {f"b{i}": 1 if i < 5 else 0 for i in range(10)})  # 0.5
    record_feedback(log, {f"c{i}": 0 for i in range(4)})  # 1.0
    result = live_metric(log, "accuracy", window="1h", track=False)
    rows = [(r.version, r.window_start.timestamp(), r.count, r.value) for r in result.itertuples()]
    assert rows == [("1", T0, 10, 0.8), ("1", T0 + HOUR, 10, 0.5), ("2", T0 + HOUR, 4, 1.0)]
    assert str(result["window_start"].dt.tz) == "UTC"
    five_minutes = live_metric(log, "accuracy", window=300, track=False)
    assert five_minutes["count"].tolist() == [5, 5, 5, 5, 4]
    assert live_metric(log, "accuracy", since=T0 + HOUR, track=False)["value"].tolist() == [
        0.5,
        1.0,
    ]


def test_live_metric_is_logged_against_the_served_version(log, tracking_uri):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri, tracking_uri)
    client.create_registered_model("m")
    for _ in range(2):
        client.create_model_version("m", source="file:///nowhere")
    record_feedback(log, {f"a{i}": 1 if i < 8 else 0 for i in range(10)})
    record_feedback(log, {f"b{i}": 1 if i < 5 else 0 for i in range(10)})
    record_feedback(log, {f"c{i}": 0 for i in range(4)})
    live_metric(log, "accuracy", window="1h")
    live_metric(log, "accuracy", window="1h")  # again: no point is logged twice
    version = client.get_model_version("m", "1")
    assert version.tags["live.accuracy"] == "0.5"
    run_id = version.tags["live.monitoring_run"]
    run = client.get_run(run_id)
    assert run.data.tags["monitoring.model"] == "m" and run.data.tags["monitoring.version"] == "1"
    assert client.get_experiment(run.info.experiment_id).name == "m-monitoring"
    history = sorted(
        (m.step, m.value, m.timestamp) for m in client.get_metric_history(run_id, "live_accuracy")
    )
    step = int(T0 // HOUR)
    assert history == [
        (step, 0.8, int((T0 + HOUR) * 1000)),
        (step + 1, 0.5, int((T0 + 2 * HOUR) * 1000)),
    ]
    counts = client.get_metric_history(run_id, "live_accuracy_count")
    assert sorted(m.value for m in counts) == [10.0, 10.0]
    other = client.get_model_version("m", "2").tags["live.monitoring_run"]
    assert other != run_id


def test_degradation_trigger(log):
    trigger = MetricTrigger(log, "accuracy", below=0.7, window="1h", min_count=5, track=False)
    decision = trigger.check()
    assert not decision.fire and "no window with 5 labelled predictions" in decision.reason
    record_feedback(log, {f"a{i}": 1 for i in range(10)})
    decision = trigger.check()
    assert not decision.fire
    assert decision.reason.startswith("accuracy 1 >= 0.7 (m version 1, 10 labelled predictions")
    record_feedback(log, {f"b{i}": 1 if i < 5 else 0 for i in range(10)})
    decision = trigger.check()
    assert decision.fire and decision.reason.startswith("accuracy 0.5 < 0.7 (m version 1")
    assert str(decision).endswith("-> run")
    trigger.ran(T0 + 3 * HOUR)  # a retrain started: older predictions no longer count
    assert not trigger.check().fire
    rmse = MetricTrigger(log, "mae", above=0.2, window="1h", min_count=5, track=False)
    assert rmse.check().fire  # half of hour 1's labels are wrong: mae 0.5 > 0.2


def test_bad_inputs_are_one_line_errors(log, tmp_path):
    with pytest.raises(MonitoringError, match="no prediction log at"):
        live_metric(tmp_path / "none.jsonl", track=False)
    with pytest.raises(MonitoringError, match="window 'soon': give seconds or a duration"):
        live_metric(log, window="soon", track=False)
    with pytest.raises(MonitoringError, match="must be longer than zero"):
        live_metric(log, window=0, track=False)
    record_feedback(log, "a0", 1)
    with pytest.raises(MonitoringError, match="unknown metric 'nope'"):
        live_metric(log, "nope", track=False)
    with pytest.raises(MonitoringError, match="2 ids but 1 labels"):
        record_feedback(log, ["a0", "a1"], [1])
    from nb2pipe.errors import Nb2PipeError

    with pytest.raises(Nb2PipeError, match="exactly one of --below or --above"):
        MetricTrigger(log, "accuracy")
