"""`sync_run`: log a finished run directory to MLflow — one run, one nested run per step.

Everything comes from the run directory (run.json, each step's meta.json, artifact manifest
and tracking journal), so the same function serves the runner's observer, the detached
subprocess that logs fully cached runs, and a user re-syncing by hand. All writes go through
`log_batch` from this one process: no SQLite contention between parallel steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nb2pipe.runner.rundir import RunDir, read_json

from . import config, datasets, journal, provenance, store
from .errors import TrackingError, translated
from .redact import redact_uri

RUN_STATUS = {"succeeded": "FINISHED", "failed": "FAILED", "interrupted": "KILLED"}
STEP_STATUS = {
    "done": "FINISHED",
    "cached": "FINISHED",
    "failed": "FAILED",
    "skipped": "KILLED",
    "interrupted": "KILLED",
}
DURATION = "nb2pipe.duration_s"


def sync_run(
    run_dir: str | Path,
    *,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    force: bool = False,
) -> str:
    """Log the finished run in `run_dir` to MLflow; return the pipeline's MLflow run id.

    The id is written back into run.json (``mlflow_run_id``); a run already logged to the
    same store is not logged twice unless `force`.
    """
    run = RunDir(Path(run_dir).resolve())
    info = run.info()
    if not info:
        raise TrackingError(f"{run.path}: not an nb2pipe run directory (no run.json)")
    if info.get("status") not in RUN_STATUS:
        raise TrackingError(f"{run.path}: run is not finished (status {info.get('status')!r})")
    source = Path(info.get("source") or run.path)
    uri = tracking_uri or config.tracking_uri(source.parent)
    if (
        not force
        and info.get("mlflow_run_id")
        and info.get("mlflow_tracking_uri") == redact_uri(uri)
    ):
        return info["mlflow_run_id"]
    name = experiment or config.experiment_name(info.get("pipeline"), source.parent)
    origin = info.get("provenance") or provenance.collect(config.project_root(source))
    with translated(f"log run {run.id}", redact_uri(uri)):
        client = store.client(uri)
        experiment_id = store.experiment_id(client, name, uri)
        logged = _Logger(client, uri, experiment_id, run, info, source, origin).log()
    info = run.info()  # re-read: keep anything written since
    info.update(
        mlflow_run_id=logged.run_id,
        mlflow_step_runs=logged.step_runs,
        mlflow_experiment_id=experiment_id,
        mlflow_tracking_uri=redact_uri(uri),
    )
    run.write_info(info)
    return logged.run_id


def _ms(seconds: float | None) -> int | None:
    return int(seconds * 1000) if seconds is not None else None


def _flag(value: Any) -> str:
    return "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


@dataclass
class _Logged:
    run_id: str
    step_runs: dict[str, str] = field(default_factory=dict)


class _Logger:
    def __init__(self, client, uri, experiment_id, run: RunDir, info: dict, source: Path, origin):
        self.client = client
        self.uri = uri
        self.experiment_id = experiment_id
        self.run = run
        self.info = info
        self.source = source
        self.origin = origin

    def common_tags(self) -> dict[str, str]:
        o = self.origin
        return {
            "mlflow.source.name": str(self.source),
            "mlflow.source.type": "NOTEBOOK",
            "mlflow.user": _flag(o.get("user")),
            "mlflow.source.git.commit": _flag(o.get("git_commit")),
            "nb2pipe.git_dirty": _flag(o.get("git_dirty")),
            "nb2pipe.host": _flag(o.get("host")),
            "nb2pipe.python": _flag(o.get("python")),
            "nb2pipe.version": _flag(self.info.get("nb2pipe") or o.get("nb2pipe")),
            "nb2pipe.run_id": self.run.id,
            "nb2pipe.pipeline": _flag(self.info.get("pipeline")),
        }

    def log(self) -> _Logged:
        info = self.info
        tags = {
            **self.common_tags(),
            "nb2pipe.run_dir": str(self.run.path),
            "nb2pipe.status": info["status"],
            "nb2pipe.isolation": _flag(info.get("isolation")),
            "nb2pipe.max_parallel": _flag(info.get("max_parallel")),
        }
        description = _description(self.run.path / "pipeline.yaml")
        if description:
            tags["mlflow.note.content"] = description
        parent = self.client.create_run(
            self.experiment_id,
            start_time=_ms(info.get("start")),
            tags={k: v for k, v in tags.items() if v},
            run_name=f"{info.get('pipeline', 'pipeline')} {self.run.id}",
        )
        logged = _Logged(parent.info.run_id)
        latest: dict[str, store.Metric] = {}
        for step in info.get("steps", []):
            if (self.run.step_dir(step) / "meta.json").exists():
                step_id, metrics = self.log_step(step, logged.run_id)
                logged.step_runs[step] = step_id
                for m in metrics:
                    latest[m.key] = m
        end = info.get("end")
        metrics = list(latest.values())
        if info.get("duration") is not None:
            metrics.append(store.Metric(DURATION, float(info["duration"]), _ms(end) or 0))
        store.log_batch(self.client, logged.run_id, metrics, params=info.get("params", {}))
        if (self.run.path / "pipeline.yaml").exists():
            self.client.log_artifact(logged.run_id, str(self.run.path / "pipeline.yaml"))
        store.end_run(self.client, self.uri, logged.run_id, RUN_STATUS[info["status"]], _ms(end))
        return logged

    def log_step(self, step: str, parent_id: str) -> tuple[str, list[store.Metric]]:
        run = self.run
        meta = run.meta(step) or {}
        manifest = read_json(run.artifacts(step) / "manifest.json") or {}
        record = journal.read(run.step_dir(step))
        status = meta.get("status", "unknown")
        cached = bool(meta.get("cache_hit"))
        start = meta.get("start", self.info.get("start"))
        end = meta.get("end", start)
        error = meta.get("error") or {}
        tags = {
            **self.common_tags(),
            "mlflow.parentRunId": parent_id,
            "nb2pipe.step": step,
            "nb2pipe.status": status,
            "nb2pipe.fingerprint": _flag(meta.get("fingerprint")),
            "nb2pipe.cache_hit": _flag(cached),
            "nb2pipe.cached_from": _flag(meta.get("cached_from")),
            "nb2pipe.attempts": _flag(meta.get("attempts")),
            "nb2pipe.error": _flag(error.get("message")),
            "nb2pipe.error_cell": _flag(error.get("cell")),
        }
        for name, entry in manifest.get("artifacts", {}).items():
            path = run.artifacts(step) / entry["file"]
            tags[f"nb2pipe.artifact.{name}.uri"] = path.as_uri()
            tags[f"nb2pipe.artifact.{name}.sha256"] = entry.get("sha256", "")
            tags[f"nb2pipe.artifact.{name}.serializer"] = entry.get("serializer", "")
        parts = meta.get("parts") or {}
        for ref, sha in (parts.get("inputs") or {}).items():
            tags[f"nb2pipe.input.{ref}.sha256"] = sha
        if record.models:
            tags["nb2pipe.models"] = ", ".join(
                f"{m.get('name')}:{m.get('version')}" for m in record.models
            )
        tags.update(record.tags)
        child = self.client.create_run(
            self.experiment_id,
            start_time=_ms(start),
            tags={k: v for k, v in tags.items() if v},
            run_name=step,
        )
        run_id = child.info.run_id
        params = {**record.params, **(parts.get("params") or {})}
        when = _ms(end) or store.now_ms()
        metrics = [
            store.Metric(k, float(v), when, 0) for k, v in manifest.get("metrics", {}).items()
        ]
        metrics += record.metrics
        duration = meta.get("duration")
        all_metrics = list(metrics)
        if duration is not None:
            all_metrics.append(store.Metric(DURATION, float(duration), when))
        store.log_batch(self.client, run_id, all_metrics, params=params)
        inputs = self.datasets(step, manifest, parts)
        if inputs:
            self.client.log_inputs(run_id, datasets=inputs)
        if not cached:  # a cached step's files were logged with the run that made them
            for name in ("notebook.ipynb", "log.txt"):
                if (run.step_dir(step) / name).exists():
                    self.client.log_artifact(run_id, str(run.step_dir(step) / name))
            if (run.artifacts(step) / "manifest.json").exists():
                self.client.log_artifact(run_id, str(run.artifacts(step) / "manifest.json"))
            for path, artifact_path in record.artifacts:
                if path.is_dir():
                    self.client.log_artifacts(run_id, str(path), artifact_path or path.name)
                elif path.exists():
                    self.client.log_artifact(run_id, str(path), artifact_path)
        for model in record.models:
            self._adopt(model.get("run_id"), run_id)
        with store.quiet_urls():  # one "View run" link for the pipeline, not one per step
            self.client.set_terminated(run_id, STEP_STATUS.get(status, "FINISHED"), _ms(end))
        return run_id, metrics

    def datasets(self, step: str, manifest: dict, parts: dict) -> list:
        out = []
        for name, entry in manifest.get("artifacts", {}).items():
            if entry.get("serializer") == "parquet":
                path = self.run.artifacts(step) / entry["file"]
                out.append(datasets.dataset_input(step, name, path, entry["sha256"], "output"))
        for ref in parts.get("inputs") or {}:
            producer, _, name = ref.partition(".")
            upstream = read_json(self.run.artifacts(producer) / "manifest.json") or {}
            entry = upstream.get("artifacts", {}).get(name)
            if entry and entry.get("serializer") == "parquet":
                path = self.run.artifacts(producer) / entry["file"]
                out.append(datasets.dataset_input(producer, name, path, entry["sha256"], "input"))
        return out

    def _adopt(self, model_run_id: str | None, step_run_id: str) -> None:
        """Nest the run a step published a model from under that step's run."""
        if not model_run_id:
            return
        try:
            self.client.set_tag(model_run_id, "mlflow.parentRunId", step_run_id)
        except Exception:
            pass  # published to another store, or since deleted: the tag is a convenience


def _description(pipeline_yaml: Path) -> str:
    try:
        import yaml

        data = yaml.safe_load(pipeline_yaml.read_text(encoding="utf-8")) or {}
    except Exception:
        return ""
    return str(data.get("description") or "")
