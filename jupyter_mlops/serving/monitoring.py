"""Live performance: ground truth joined to served predictions, the metric per time window.

Labels arrive after the predictions (a user's feedback, an outcome known a week later). Each
goes as one JSON line into ``<log stem>.feedback.jsonl`` beside the prediction log, keyed by
the prediction id the server returned; the latest label of an id wins. `live_metric` joins
them and computes the metric per window of prediction time, per served model version, and
logs it to MLflow against that version: a monitoring run per version (experiment
``<model>-monitoring``), metric ``live_<metric>`` stepped by window, and the latest value as
the version's tag ``live.<metric>``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jupyter_mlops.data.prediction_log import parts
from jupyter_mlops.serving.prediction_log import PredictionLog
from nb2pipe.errors import Nb2PipeError
from nb2pipe.fileio import plain

FEEDBACK_SUFFIX = ".feedback.jsonl"
MONITORING_SUFFIX = "-monitoring"
COLUMNS = ["model", "version", "window_start", "window_end", "count", "value"]


class MonitoringError(Nb2PipeError):
    """A live metric cannot be computed: unknown metric, bad window, no such log."""


def feedback_path(log: str | os.PathLike | PredictionLog) -> Path:
    """Where the labels of prediction log `log` go: ``<stem>.feedback.jsonl`` beside it."""
    log = log.path if isinstance(log, PredictionLog) else Path(log)
    return log.with_name(log.stem + FEEDBACK_SUFFIX)


def record_feedback(
    log: str | os.PathLike | PredictionLog,
    prediction_id: str | Sequence[str] | Mapping[str, Any],
    label: Any = None,
) -> int:
    """Record the true label of one prediction, or of many (a mapping id → label, or a list
    of ids with a list of labels); return how many were recorded."""
    if isinstance(prediction_id, Mapping):
        pairs = list(prediction_id.items())
    elif isinstance(prediction_id, str):
        pairs = [(prediction_id, label)]
    else:
        ids = list(prediction_id)
        labels = list(label) if label is not None else []
        if len(ids) != len(labels):
            raise MonitoringError(f"record_feedback: {len(ids)} ids but {len(labels)} labels")
        pairs = list(zip(ids, labels, strict=True))
    now = time.time()
    lines = "".join(
        json.dumps({"id": str(i), "label": plain(v), "ts": now}, sort_keys=True) + "\n"
        for i, v in pairs
    )
    writer = log if isinstance(log, PredictionLog) else PredictionLog(log)
    writer.feedback(lines, feedback_path(writer.path))  # under the predictions' lock
    return len(pairs)


def labelled(log: str | os.PathLike, since: float | None = None):
    """Predictions that have a label: id, ts, model, version, prediction, label."""
    import pandas as pd

    from jupyter_mlops.data.prediction_log import read_lines, read_log

    if not parts(log):
        raise MonitoringError(f"no prediction log at {log}")
    predictions = read_log(log, since)[["id", "ts", "model", "version", "prediction"]]
    labels = {r["id"]: r.get("label") for r in read_lines(feedback_path(log)) if "id" in r}
    frame = predictions[predictions["id"].isin(labels.keys())].copy()
    frame["label"] = frame["id"].map(labels)
    return (
        frame.reset_index(drop=True)
        if len(frame)
        else pd.DataFrame(columns=[*predictions.columns, "label"])
    )


def window_seconds(window: Any) -> float:
    import pandas as pd

    try:
        seconds = (
            float(window)
            if isinstance(window, (int, float))
            else pd.to_timedelta(window).total_seconds()
        )
    except (ValueError, TypeError):
        raise MonitoringError(f"window {window!r}: give seconds or a duration like '1h'") from None
    if not seconds > 0:
        raise MonitoringError(f"window {window!r}: must be longer than zero")
    return seconds


def live_metric(
    log: str | os.PathLike,
    metric: str = "accuracy",
    *,
    window: Any = "1h",
    since: float | None = None,
    track: bool = True,
    tracking_uri: str | None = None,
):
    """`metric` of the labelled predictions per window of prediction time and model version.

    Windows are aligned on the epoch (a "1h" window starts on the hour). With `track`, each
    window's value is logged to MLflow against its served model version (see the module).
    Returns a DataFrame: model, version, window_start, window_end (UTC), count, value.
    """
    import pandas as pd

    from jupyter_mlops.metrics import score

    seconds = window_seconds(window)
    frame = labelled(log, since)
    rows = []
    if len(frame):
        frame["window"] = (frame["ts"].astype(float) // seconds).astype(int)
        for (model, version, index), group in frame.groupby(["model", "version", "window"]):
            try:
                value = score(metric, list(group["label"]), list(group["prediction"]))
            except Nb2PipeError as e:
                raise MonitoringError(str(e)) from None
            except (TypeError, ValueError) as e:  # labels and predictions of different kinds
                raise MonitoringError(f"{metric} of {model} version {version}: {e}") from None
            start = index * seconds
            rows.append(
                {
                    "model": model,
                    "version": str(version),
                    "window_start": pd.Timestamp(start, unit="s", tz="UTC"),
                    "window_end": pd.Timestamp(start + seconds, unit="s", tz="UTC"),
                    "count": len(group),
                    "value": value,
                    "window_index": int(index),
                }
            )
    result = pd.DataFrame(rows, columns=[*COLUMNS, "window_index"])
    if track and len(result):
        log_live_metric(result, metric, tracking_uri=tracking_uri)
    return result.drop(columns="window_index")


def log_live_metric(result, metric: str, *, tracking_uri: str | None = None) -> dict[str, str]:
    """Log each window of `live_metric`'s result to its version's monitoring run (points
    already logged are not logged again); return model/version → monitoring run id."""
    from jupyter_mlops.errors import translated
    from jupyter_mlops.tracking import config, store

    uri = tracking_uri or config.tracking_uri()
    key = f"live_{metric}"
    runs = {}
    with translated("log a live metric", uri):
        client = store.client(uri)
        for (model, version), group in result.groupby(["model", "version"]):
            run_id = _monitoring_run(client, uri, model, str(version))
            logged = {(m.step, m.value) for m in client.get_metric_history(run_id, key)}
            points = []
            for row in group.to_dict(orient="records"):
                step, value = int(row["window_index"]), float(row["value"])
                if (step, value) in logged:
                    continue
                # A window still open is logged as of now: its later values sort after it.
                when = min(int(row["window_end"].timestamp() * 1000), store.now_ms())
                points.append(store.Metric(key, value, when, step))
                points.append(store.Metric(f"{key}_count", float(row["count"]), when, step))
            if points:
                store.log_batch(client, run_id, points)
            latest = group.sort_values("window_start").iloc[-1]
            client.set_model_version_tag(
                model, str(version), f"live.{metric}", repr(float(latest.value))
            )
            client.set_model_version_tag(model, str(version), "live.monitoring_run", run_id)
            runs[f"{model}/{version}"] = run_id
    return runs


def _monitoring_run(client, uri: str, model: str, version: str) -> str:
    from jupyter_mlops.tracking import store

    experiment = store.experiment_id(client, f"{model}{MONITORING_SUFFIX}", uri)
    found = client.search_runs(
        [experiment],
        f"tags.`monitoring.model` = '{model}' and tags.`monitoring.version` = '{version}'",
        max_results=1,
    )
    if found:
        return found[0].info.run_id
    created = client.create_run(
        experiment,
        run_name=f"{model} v{version} live",
        tags={"monitoring.model": model, "monitoring.version": version},
    )
    return created.info.run_id
