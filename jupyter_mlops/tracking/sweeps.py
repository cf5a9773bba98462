"""A sweep in MLflow: one parent run for the sweep, one nested pipeline run per trial.

The sweep's run is tagged ``nb2pipe.kind=sweep`` and ``nb2pipe.sweep_id``; each trial's pipeline
run is tagged ``nb2pipe.kind=trial`` and nested under it (its step runs under it in turn), so
the Experiments view lists the sweep as one row that opens to its trials. Whoever logs first —
the first trial's sync, or the sweep's own at its end — creates the sweep's run, under a lock
in the sweep folder; everyone else finds it by its tag, so it is made exactly once. At the end
`sync_sweep` logs what was searched (parameters ``sweep.*``), the best value, and tags the best
trial (``nb2pipe.best_trial`` on the sweep, ``nb2pipe.best=true`` on the trial's run).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jupyter_mlops.errors import TrackingError, translated
from jupyter_mlops.tracking import config, store
from jupyter_mlops.tracking.filelock import locked
from nb2pipe.fileio import read_json
from nb2pipe.sweep.records import best_of, read_sweep

SWEEP_TAG = "nb2pipe.sweep_id"
TRIAL_TAG = "nb2pipe.trial"
BEST_TAG = "nb2pipe.best"
BEST_TRIAL_TAG = "nb2pipe.best_trial"
LOCK = "tracking.lock"
STATUS = {"succeeded": "FINISHED", "failed": "FAILED", "cancelled": "KILLED"}
_ID = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{6}")


def sweep_run(client, experiment_id: str, sweep_dir: Path, origin_tags: dict[str, str]) -> str:
    """The MLflow run id of the sweep in `sweep_dir`, created if no one has yet."""
    record = read_sweep(sweep_dir)
    if record is None or not _ID.fullmatch(str(record.get("id", ""))):
        raise TrackingError(f"{sweep_dir}: not a sweep folder (no readable sweep.json)")
    with locked(Path(sweep_dir) / LOCK):
        found = client.search_runs(
            [experiment_id],
            f"tags.`{SWEEP_TAG}` = '{record['id']}' AND tags.`nb2pipe.kind` = 'sweep'",
            max_results=10,
        )
        if found:
            return min(found, key=lambda r: (r.info.start_time or 0, r.info.run_id)).info.run_id
        tags = {
            **origin_tags,
            "nb2pipe.kind": "sweep",
            SWEEP_TAG: record["id"],
            "nb2pipe.sweep_dir": str(sweep_dir),
            "nb2pipe.pipeline": str(record.get("pipeline") or ""),
            "mlflow.source.name": str(record.get("source") or ""),
            "mlflow.source.type": "NOTEBOOK",
        }
        run = client.create_run(
            experiment_id,
            start_time=_ms(record.get("start")),
            tags={k: v for k, v in tags.items() if v},
            run_name=f"{record.get('pipeline') or 'pipeline'} sweep {record['id']}",
        )
        return run.info.run_id


def trial_tags(client, experiment_id: str, info: dict, common: dict[str, str]) -> dict[str, str]:
    """The tags of a sweep's trial run (its run.json says {"sweep": {...}}): kind "trial",
    nested under the sweep's run, made if need be. None for any other run."""
    sweep = info.get("sweep")
    if not isinstance(sweep, dict) or not sweep.get("dir"):
        return {}
    origin = {k: v for k, v in common.items() if k != "nb2pipe.run_id"}
    parent = sweep_run(client, experiment_id, Path(sweep["dir"]), origin)
    return {
        "nb2pipe.kind": "trial",
        "mlflow.parentRunId": parent,
        SWEEP_TAG: str(sweep.get("id")),
        TRIAL_TAG: str(sweep.get("trial")),
    }


def sync_sweep(sweep_dir: str | Path, *, tracking_uri: str | None = None,
               experiment: str | None = None, trials: bool = False) -> str:  # fmt: skip
    """Log the sweep in `sweep_dir`: what it searched, its best value, the best trial tagged;
    return the sweep's MLflow run id. With `trials`, log each trial's run first (again: it
    changes nothing already logged)."""
    sweep_dir = Path(sweep_dir).resolve()
    record = read_sweep(sweep_dir)
    if record is None:
        raise TrackingError(f"{sweep_dir}: not a sweep folder (no readable sweep.json)")
    source = Path(record.get("source") or sweep_dir)
    uri = tracking_uri or config.tracking_uri(source.parent)
    name = experiment or config.experiment_name(record.get("pipeline"), source.parent)
    if trials:
        from jupyter_mlops.tracking.sync import sync_run

        for trial in record.get("trials", []):
            run_dir = sweep_dir.parent.parent / "runs" / str(trial.get("run_id"))
            if _ID.fullmatch(str(trial.get("run_id"))) and (run_dir / "run.json").exists():
                sync_run(run_dir, tracking_uri=uri, experiment=name)
    with translated(f"log sweep {record.get('id')}", uri):
        client = store.client(uri)
        experiment_id = store.experiment_id(client, name, uri)
        run_id = sweep_run(client, experiment_id, sweep_dir, {})
        logged = client.get_run(run_id).data.params
        params = {f"sweep.{k}": v for k, v in summary(record).items()}
        params = {k: v for k, v in params.items() if k not in logged}
        metrics = []
        best = best_of(record)
        tags = {"nb2pipe.status": str(record.get("status") or "")}
        when = _ms(record.get("end")) or store.now_ms()
        metrics.append(store.Metric("trials", float(len(record.get("trials", []))), when))
        if best is not None:
            tags[BEST_TRIAL_TAG] = str(best["number"])
            tags["nb2pipe.best_run_id"] = str(best.get("run_id") or "")
            if record.get("metric") and best.get("value") is not None:
                key = f"best_{record['metric']}"
                metrics.append(store.Metric(key, float(best["value"]), when))
            best_mlflow = _trial_mlflow_id(sweep_dir, best)
            if best_mlflow:
                tags["nb2pipe.best_mlflow_run_id"] = best_mlflow
                client.set_tag(best_mlflow, BEST_TAG, "true")
        store.log_batch(client, run_id, metrics, params=params, tags=tags)
        status = STATUS.get(str(record.get("status")), "KILLED")
        store.end_run(client, uri, run_id, status, _ms(record.get("end")))
    return run_id


def summary(record: dict[str, Any]) -> dict[str, str]:
    """What a sweep searched, as MLflow parameters: mode, metric, direction, each dimension."""
    out = {"mode": str(record.get("mode")), "direction": str(record.get("direction"))}
    if record.get("metric"):
        out["metric"] = str(record["metric"])
    for dimension in record.get("space", []):
        if "values" in dimension:
            text = ", ".join(str(v) for v in dimension["values"])
        else:
            text = f"{dimension.get('low')}..{dimension.get('high')}"
            text += " (log)" if dimension.get("log") else ""
        out[f"space.{dimension.get('name')}"] = text
    return out


def _trial_mlflow_id(sweep_dir: Path, trial: dict[str, Any]) -> str | None:
    """The MLflow run a trial's sync recorded in its run.json."""
    run_id = trial.get("run_id")
    if not run_id or not _ID.fullmatch(str(run_id)):
        return None
    info = read_json(sweep_dir.parent.parent / "runs" / run_id / "run.json") or {}
    return info.get("mlflow_run_id")


def _ms(seconds: float | None) -> int | None:
    return int(seconds * 1000) if seconds else None
