"""Writing one run directory into MLflow: one run for the pipeline, a nested run per step.

Every MLflow run made here carries the tag ``nb2pipe.run_id``. Before creating anything the
logger looks those runs up, so logging the same run directory again — after ``--resume``, after
a sync that was killed half-way, or by hand — continues the same MLflow runs instead of making
new ones: a step already logged as it is now is left alone, a step that changed (re-run by
``--resume``) gets its new tags, metrics and files, and the pipeline's run gets its final status.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_mlops.tracking import datasets, journal, names, notebook_html, store, sweeps
from jupyter_mlops.tracking import tags as tag
from nb2pipe.fileio import read_json
from nb2pipe.runner.rundir import RunDir

RUN_STATUS = {
    "succeeded": "FINISHED",
    "failed": "FAILED",
    "interrupted": "KILLED",
    "cancelled": "KILLED",
    "pruned": "KILLED",  # a sweep's trial that its pruner stopped
}
STEP_STATUS = {
    "done": "FINISHED",
    "cached": "FINISHED",
    "failed": "FAILED",
    "skipped": "KILLED",
    "interrupted": "KILLED",
    "running": "KILLED",  # still "running" in a finished run: its runner was stopped
}
INTERRUPTED = ("interrupted", "cancelled")
DURATION = "nb2pipe.duration_s"
RUN_ID_TAG = tag.RUN_ID
STEP_TAG = tag.STEP
# "pipeline" on a pipeline's run ("trial" on a sweep's, "sweep" on the sweep's: sweeps.py)
KIND_TAG = tag.KIND
PARENT_TAG = tag.PARENT
# Run ids are folder names; anything else is not put into a search filter.
_SEARCHABLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_MAX_RUNS = 5000  # MLflow's own limit on one search page of a SQL store


@dataclass
class Logged:
    """The MLflow runs of one run directory."""

    run_id: str
    experiment_id: str
    step_runs: dict[str, str] = field(default_factory=dict)


def _ms(seconds: float | None) -> int | None:
    return int(seconds * 1000) if seconds is not None else None


def _flag(value: Any) -> str:
    return "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


class RunLogger:
    """Logs `run` (whose finished status is `status`) into experiment `experiment_id` at `uri`.

    `info` is the run's run.json; `recorded` holds the MLflow ids a previous sync wrote into it,
    preferred when the store holds more than one candidate (duplicates from older versions).
    """

    def __init__(
        self,
        client,
        uri: str,
        experiment_id: str,
        run: RunDir,
        info: dict,
        status: str,
        source: Path,
        origin: dict,
    ):
        self.client = client
        self.uri = uri
        self.experiment_id = experiment_id
        self.run = run
        self.info = info
        self.status = status
        self.source = source
        self.origin = origin

    # --- finding what an earlier sync logged -----------------------------------------------
    def find(self) -> tuple[Any, dict[str, Any]]:
        """The pipeline's MLflow run (or None) and its step runs by step name."""
        if not _SEARCHABLE_ID.fullmatch(self.run.id):
            return None, {}
        experiments = [self.experiment_id]
        recorded_experiment = self.info.get("mlflow_experiment_id")
        if recorded_experiment and recorded_experiment not in experiments:
            experiments.append(str(recorded_experiment))
        found = self.client.search_runs(
            experiments, f"tags.`{RUN_ID_TAG}` = '{self.run.id}'", max_results=_MAX_RUNS
        )
        parents = [  # the pipeline's run; a sweep's trial is nested under the sweep's run
            r
            for r in found
            if STEP_TAG not in r.data.tags
            and (PARENT_TAG not in r.data.tags or r.data.tags.get(KIND_TAG) == "trial")
        ]
        if not parents:
            return None, {}
        parent = _pick(parents, {self.info.get("mlflow_run_id")})
        recorded_steps = set((self.info.get("mlflow_step_runs") or {}).values())
        by_step: dict[str, list] = {}
        for r in found:
            if r.data.tags.get(PARENT_TAG) == parent.info.run_id and STEP_TAG in r.data.tags:
                by_step.setdefault(r.data.tags[STEP_TAG], []).append(r)
        return parent, {step: _pick(runs, recorded_steps) for step, runs in by_step.items()}

    # --- logging ---------------------------------------------------------------------------
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
            RUN_ID_TAG: self.run.id,
            "nb2pipe.pipeline": _flag(self.info.get("pipeline")),
        }

    def open(self) -> tuple[Any, dict[str, Any], dict[str, str]]:
        """The pipeline's MLflow run, created if no earlier sync made it; its step runs found
        so far; and the tags to bring up to date on it (none for a run created now)."""
        info = self.info
        parent, existing_steps = self.find()
        tags = {
            **self.common_tags(),
            KIND_TAG: "pipeline",
            **sweeps.trial_tags(self.client, self.experiment_id, info, self.common_tags()),
            "nb2pipe.run_dir": str(self.run.path),
            tag.STATUS: self.status,
            "nb2pipe.interrupted": _flag(True if self.status in INTERRUPTED else None),
            "nb2pipe.isolation": _flag(info.get("isolation")),
            "nb2pipe.max_parallel": _flag(info.get("max_parallel")),
        }
        description = _description(self.run.path / "pipeline.yaml")
        if description:
            tags["mlflow.note.content"] = description
        tags = {k: v for k, v in tags.items() if v}
        if parent is None:
            parent = self.client.create_run(
                self.experiment_id,
                start_time=_ms(info.get("start")),
                tags=tags,
                run_name=names.name_of_run(self.run.path, info),
            )
            update_tags: dict[str, str] = {}
        else:
            update_tags = tags  # a run logged before: bring its tags up to date
            self._drop_stale_tags(parent, tags)
        return parent, existing_steps, update_tags

    def log(self) -> Logged:
        info = self.info
        parent, existing_steps, update_tags = self.open()
        logged = Logged(parent.info.run_id, parent.info.experiment_id)
        latest: dict[str, store.Metric] = {}
        for step in info.get("steps", []):
            if (self.run.step_dir(step) / "meta.json").exists():
                step_id, metrics = self.log_step(step, logged, existing_steps.get(step))
                logged.step_runs[step] = step_id
                for m in metrics:
                    latest[m.key] = m
        end = info.get("end")
        metrics = list(latest.values())
        if info.get("duration") is not None:
            metrics.append(store.Metric(DURATION, float(info["duration"]), _ms(end) or 0))
        params = _new_params(info.get("params", {}), parent.data.params)
        store.log_batch(self.client, logged.run_id, metrics, params=params, tags=update_tags)
        files = datasets.data_file_inputs(info.get("data_files"), self.source.parent)
        if files:  # MLflow keeps one input per dataset and run: logging again adds none
            self.client.log_inputs(logged.run_id, datasets=files)
        if (self.run.path / "pipeline.yaml").exists():
            self.client.log_artifact(logged.run_id, str(self.run.path / "pipeline.yaml"))
        store.end_run(self.client, self.uri, logged.run_id, RUN_STATUS[self.status], _ms(end))
        return logged

    def log_step(self, step: str, logged: Logged, existing) -> tuple[str, list[store.Metric]]:
        """Log `step` under the pipeline's run (again only if it changed); return its run id
        and its metrics (for the pipeline's own)."""
        run = self.run
        meta = run.meta(step) or {}
        manifest = read_json(run.artifacts(step) / "manifest.json") or {}
        record = journal.read(run.step_dir(step))
        status = meta.get("status", "unknown")
        if self.status in INTERRUPTED and status == "running":
            status = "interrupted"
        cached = bool(meta.get("cache_hit"))
        start = meta.get("start", self.info.get("start"))
        end = meta.get("end", start)
        when = _ms(end) or store.now_ms()
        metrics = [
            store.Metric(k, float(v), when, 0) for k, v in manifest.get("metrics", {}).items()
        ]
        metrics += record.metrics
        terminal = STEP_STATUS.get(status, "FINISHED")
        if existing is not None and _already_logged(existing, status, terminal, _ms(end)):
            return existing.info.run_id, metrics
        tags = self.step_tags(step, status, meta, manifest, record, logged.run_id)
        if existing is None:
            run_id = self.client.create_run(
                logged.experiment_id, start_time=_ms(start), tags=tags, run_name=step
            ).info.run_id
            logged_params: dict[str, str] = {}
            update_tags: dict[str, str] = {}
        else:
            run_id = existing.info.run_id
            logged_params, update_tags = existing.data.params, tags
            self._drop_stale_tags(existing, tags)
        parts = meta.get("parts") or {}
        params = _new_params({**record.params, **(parts.get("params") or {})}, logged_params)
        all_metrics = list(metrics)
        if meta.get("duration") is not None:
            all_metrics.append(store.Metric(DURATION, float(meta["duration"]), when))
        store.log_batch(self.client, run_id, all_metrics, params=params, tags=update_tags)
        inputs = datasets.step_inputs(self.run, step, manifest, meta, self.info)
        if inputs:
            self.client.log_inputs(run_id, datasets=inputs)
        if not cached:  # a cached step's files were logged with the run that made them
            self.log_files(step, run_id, record)
        for model in record.models:
            self._adopt(model.get("run_id"), run_id)
        with store.quiet_urls():  # one "View run" link for the pipeline, not one per step
            self.client.set_terminated(run_id, terminal, _ms(end))
        return run_id, metrics

    def step_tags(self, step, status, meta, manifest, record, parent_id) -> dict[str, str]:
        error = meta.get("error") or {}
        tags = {
            **self.common_tags(),
            PARENT_TAG: parent_id,
            STEP_TAG: step,
            tag.STATUS: status,
            "nb2pipe.fingerprint": _flag(meta.get("fingerprint")),
            "nb2pipe.cache_hit": _flag(bool(meta.get("cache_hit"))),
            tag.CACHED_FROM: _flag(meta.get("cached_from")),
            "nb2pipe.attempts": _flag(meta.get("attempts")),
            "nb2pipe.error": _flag(error.get("message")),
            "nb2pipe.error_cell": _flag(error.get("cell")),
        }
        for name, entry in manifest.get("artifacts", {}).items():
            path = self.run.artifacts(step) / entry["file"]
            tags[f"{tag.ARTIFACT}{name}.uri"] = path.as_uri()
            tags[f"{tag.ARTIFACT}{name}.sha256"] = entry.get("sha256", "")
            tags[f"{tag.ARTIFACT}{name}.serializer"] = entry.get("serializer", "")
        parts = meta.get("parts") or {}
        for ref, sha in (parts.get("inputs") or {}).items():
            tags[f"nb2pipe.input.{ref}.sha256"] = sha
        if record.models:
            tags["nb2pipe.models"] = ", ".join(
                f"{m.get('name')}:{m.get('version')}" for m in record.models
            )
        tags.update(record.tags)
        return {k: v for k, v in tags.items() if v}

    def log_files(self, step: str, run_id: str, record: journal.Journal) -> None:
        run = self.run
        for name in ("notebook.ipynb", "log.txt"):
            if (run.step_dir(step) / name).exists():
                self.client.log_artifact(run_id, str(run.step_dir(step) / name))
        if run.notebook(step).exists():  # rendered, so that the MLflow UI shows it
            with tempfile.TemporaryDirectory() as folder:
                page = notebook_html.write(run.notebook(step), f"{step} · {run.id}", Path(folder))
                self.client.log_artifact(run_id, str(page))
        if (run.artifacts(step) / "manifest.json").exists():
            self.client.log_artifact(run_id, str(run.artifacts(step) / "manifest.json"))
        for path, artifact_path in record.artifacts:
            if path.is_dir():
                self.client.log_artifacts(run_id, str(path), artifact_path or path.name)
            elif path.exists():
                self.client.log_artifact(run_id, str(path), artifact_path)

    def _drop_stale_tags(self, existing, tags: dict[str, str]) -> None:
        """Our tags that no longer hold (the error of an attempt that `--resume` re-ran)."""
        for key in existing.data.tags:
            if key.startswith("nb2pipe.") and key not in tags:
                self.client.delete_tag(existing.info.run_id, key)

    def _adopt(self, model_run_id: str | None, step_run_id: str) -> None:
        """Nest the run a step published a model from under that step's run."""
        if not model_run_id:
            return
        try:
            self.client.set_tag(model_run_id, PARENT_TAG, step_run_id)
        except Exception:
            pass  # published to another store, or since deleted: the tag is a convenience


def _pick(runs: list, preferred: set) -> Any:
    """The run an earlier sync recorded, else the oldest (duplicates made by older versions)."""
    for r in runs:
        if r.info.run_id in preferred:
            return r
    return min(runs, key=lambda r: (r.info.start_time or 0, r.info.run_id))


def _already_logged(existing, status: str, terminal: str, end_ms: int | None) -> bool:
    """Whether an earlier sync logged this step as it is now (and finished logging it)."""
    return (
        existing.info.status == terminal
        and existing.data.tags.get(tag.STATUS) == status
        and end_ms is not None
        and existing.info.end_time == end_ms
    )


def _new_params(params: dict[str, Any], logged: dict[str, str]) -> dict[str, Any]:
    """The parameters not logged yet; MLflow refuses to change a logged value, so a changed
    one keeps the value the run was first logged with."""
    return {k: v for k, v in params.items() if k not in logged}


def _description(pipeline_yaml: Path) -> str:
    try:
        import yaml

        data = yaml.safe_load(pipeline_yaml.read_text(encoding="utf-8")) or {}
    except Exception:
        return ""
    return str(data.get("description") or "")
