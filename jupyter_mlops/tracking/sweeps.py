"""A sweep in MLflow: one parent run for the sweep, one nested pipeline run per trial.

The sweep's run is tagged ``nb2pipe.kind=sweep`` and ``nb2pipe.sweep_id``; each trial's pipeline
run is tagged ``nb2pipe.kind=trial`` and nested under it (its step runs under it in turn), so
the Experiments view lists the sweep as one row that opens to its trials. Whoever logs first —
the first trial's sync, or the sweep's own at its end — creates the sweep's run, under a lock
in the sweep folder; everyone else finds it by its tag, so it is made exactly once. At the end
`sync.sync_sweep` logs what was searched (parameters ``sweep.*``), the best value, and tags the best
trial (``nb2pipe.best_trial`` on the sweep, ``nb2pipe.best=true`` on the trial's run).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jupyter_mlops.errors import TrackingError
from jupyter_mlops.tracking import tags as tag
from jupyter_mlops.tracking.filelock import locked
from nb2pipe.fileio import read_json
from nb2pipe.sweep.records import read_sweep

LOCK = "tracking.lock"
STATUS = {"succeeded": "FINISHED", "failed": "FAILED", "cancelled": "KILLED"}
RUN_ID = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{6}")


def sweep_run(client, experiment_id: str, sweep_dir: Path, origin_tags: dict[str, str]) -> str:
    """The MLflow run id of the sweep in `sweep_dir`, created if no one has yet."""
    record = read_sweep(sweep_dir)
    if record is None or not RUN_ID.fullmatch(str(record.get("id", ""))):
        raise TrackingError(f"{sweep_dir}: not a sweep folder (no readable sweep.json)")
    with locked(Path(sweep_dir) / LOCK):
        found = client.search_runs(
            [experiment_id],
            f"tags.`{tag.SWEEP_ID}` = '{record['id']}' AND tags.`{tag.KIND}` = 'sweep'",
            max_results=10,
        )
        if found:
            return min(found, key=lambda r: (r.info.start_time or 0, r.info.run_id)).info.run_id
        tags = {
            **origin_tags,
            tag.KIND: "sweep",
            tag.SWEEP_ID: record["id"],
            "nb2pipe.sweep_dir": str(sweep_dir),
            "nb2pipe.pipeline": str(record.get("pipeline") or ""),
            "mlflow.source.name": str(record.get("source") or ""),
            "mlflow.source.type": "NOTEBOOK",
        }
        run = client.create_run(
            experiment_id,
            start_time=ms(record.get("start")),
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
    origin = {k: v for k, v in common.items() if k != tag.RUN_ID}
    parent = sweep_run(client, experiment_id, Path(sweep["dir"]), origin)
    return {
        tag.KIND: "trial",
        tag.PARENT: parent,
        tag.SWEEP_ID: str(sweep.get("id")),
        tag.TRIAL: str(sweep.get("trial")),
    }


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


def trial_mlflow_id(sweep_dir: Path, trial: dict[str, Any]) -> str | None:
    """The MLflow run a trial's sync recorded in its run.json."""
    run_id = trial.get("run_id")
    if not run_id or not RUN_ID.fullmatch(str(run_id)):
        return None
    info = read_json(sweep_dir.parent.parent / "runs" / run_id / "run.json") or {}
    return info.get("mlflow_run_id")


def ms(seconds: float | None) -> int | None:
    return int(seconds * 1000) if seconds else None
