"""Publishing a model that a pipeline run produced: the one code path behind the sidebar's
Publish button, `nb2pipe publish` and `make demo`.

The model is an artifact of a step (by default the first estimator-like artifact of the last
step that has one); its metrics and parameters come from the run, its lineage (run id, step,
artifact) is tagged on the version, and the model card is built from the source notebook.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Any

from nb2pipe.errors import Nb2PipeError

# One tracking session per process: publishing from two threads must take turns.
_LOCK = threading.Lock()
# The formats models cross steps in (nb2pipe/artifacts/): estimators, boosters, networks.
MODEL_SERIALIZERS = ("joblib", "xgboost-booster", "lightgbm-booster", "catboost", "keras", "torch",
                     "statsmodels", "pickle")  # fmt: skip
SHA256_TAG = "nb2pipe.artifact.sha256"  # on each version: the model file it was made from


def run_values(run) -> tuple[dict[str, float], dict[str, Any]]:
    """Every metric the run's steps recorded, and the run's parameters."""
    from nb2pipe.artifacts import read_manifest

    info = run.info()
    metrics: dict[str, float] = {}
    for step in info.get("steps") or []:
        metrics.update((read_manifest(run.path, step) or {}).get("metrics", {}))
    return metrics, dict(info.get("params") or {})


def find_model(run) -> tuple[str, str]:
    """(step, artifact) of the model in a run: the last step saving an estimator-like value
    (not one that the serve cells read: a fitted scaler is no model)."""
    from nb2pipe.artifacts import read_manifest

    served = _serve_values(run.path)
    for step in reversed(run.info().get("steps") or []):
        artifacts = (read_manifest(run.path, step) or {}).get("artifacts", {})
        for name, entry in sorted(artifacts.items()):
            if entry.get("serializer") in MODEL_SERIALIZERS and name not in served:
                return step, name
    raise Nb2PipeError(
        f"run {run.id} saved no model artifact (a value a later step reads); name one with "
        "--step and --artifact"
    )


def _run_serve(run_dir: Path):
    """The serve cells as the run ran them (None: it had none, or its pipeline.yaml is gone)."""
    from nb2pipe.compile import pipeline_file

    try:
        pipeline = pipeline_file.load((run_dir / "pipeline.yaml").read_text(encoding="utf-8"))
    except (OSError, Nb2PipeError):
        return None
    return pipeline.serve


def _serve_values(run_dir: Path) -> set[str]:
    serve = _run_serve(run_dir)
    return set(serve.values) if serve else set()


def serve_cells_since(pipeline, run) -> str | None:
    """Why the notebook's serve cells (`pipeline`, compiled now) are not those `run` ran, or
    None. Publishing packages the run's, the ones its proof can check: a cell tagged `serve`
    (or untagged, or edited) since the run would be published as it was, not as it is."""
    ran, now = _run_serve(run.path), pipeline.serve

    def code(serve) -> tuple:
        return (serve.input, serve.output, [c.source for c in serve.cells]) if serve else ()

    if code(ran) == code(now):
        return None

    def cells(serve) -> str:
        numbers = ", ".join(str(c.number) for c in serve.cells) if serve else ""
        return f"serve cells {numbers}" if numbers else "no serve cells"

    what = (
        f"the {cells(now)} changed since run {run.id}"
        if cells(ran) == cells(now)
        else f"run {run.id} ran {cells(ran)}, the notebook has {cells(now)} now"
    )
    return f"{what}: the run's are published; nb2pipe run the notebook again to publish its own"


RESOURCE_TAG = "resources."  # version tags: what the step asked for (cpu, memory, gpu)


def step_resources(run, step: str) -> dict[str, str]:
    """The resources the model's step was tagged with (``cpu:2``, ``memory:4Gi``, ``gpu:1``),
    as version tags: what a deployment of the model asks for by default."""
    from nb2pipe.compile.pipeline_file import PipelineFileError, load

    try:
        pipeline = load((run.path / "pipeline.yaml").read_text(encoding="utf-8"))
    except (OSError, PipelineFileError):
        return {}
    found = next((s for s in pipeline.steps if s.name == step), None)
    if found is None:
        return {}
    wanted = {
        "cpu": found.resources.cpu,
        "memory": found.resources.memory,
        "gpu": found.resources.gpu,
    }
    return {f"{RESOURCE_TAG}{k}": str(v) for k, v in wanted.items() if v not in (None, "")}


def publish_from_run(
    run,
    name: str,
    *,
    step: str | None = None,
    artifact: str | None = None,
    metric: str | None = None,
    description: str | None = None,
    tracking_uri: str | None = None,
):
    """Publish artifact `artifact` of `step` in nb2pipe run `run` as a new version of `name`.

    The same model published again (the same artifact of the same step, by its sha256: a
    re-run whose steps all came from the cache holds the very same file) is not a new
    version: the existing one is returned, with `already` set.
    """
    from jupyter_mlops.registry import publish as registry
    from jupyter_mlops.registry.read import RUN_NAME_TAG
    from jupyter_mlops.tracking import config, store
    from jupyter_mlops.tracking.names import name_of_run
    from jupyter_mlops.tracking.session import SESSION
    from nb2pipe.artifacts import load, read_manifest

    if step is None or artifact is None:
        step, artifact = find_model(run)
    store.import_in_background()  # overlaps loading the model; the registry waits for it
    manifest = read_manifest(run.path, step) or {}
    sha256 = ((manifest.get("artifacts") or {}).get(artifact) or {}).get("sha256")
    model = load(run.path, step, artifact)
    metrics, params = run_values(run)
    metrics.update(manifest.get("metrics", {}))
    info = run.info()
    source = info.get("source")
    folder = Path(source).parent if source else None
    lineage = {
        "nb2pipe.run_id": run.id,
        RUN_NAME_TAG: name_of_run(run.path, info),  # the run as the views name it
        "nb2pipe.step": step,
        "nb2pipe.artifact": artifact,
        SHA256_TAG: sha256 or "",
    }
    lineage.update(step_resources(run, step))
    with _LOCK:
        if tracking_uri:
            SESSION.set_tracking_uri(tracking_uri)
        existing = _published_before(SESSION.uri, name, step, artifact, sha256)
        if existing is not None:
            return existing
        publish = functools.partial(
            registry.publish_model,
            model,
            name,
            metric=metric,
            metrics=metrics,
            params=params,
            notebook=source,
            description=description,
            tags=lineage,
            serve=run.path,  # the serve cells as this run ran them, if the notebook has any
        )
        tracked = _tracked_run(SESSION.uri, info, step)
        if tracked is not None:
            # Into the step's own MLflow run (or the pipeline's): publishing adds no run.
            return publish(run_id=tracked)
        before = SESSION.experiment
        # Never tracked: the model's run goes to the pipeline's experiment, nested in nothing
        # but tagged with its lineage (the Experiments panel lists pipeline runs only).
        SESSION.experiment = config.experiment_name(info.get("pipeline"), folder)
        started = SESSION.start_run(f"publish {name}", lineage)
        status = "FAILED"
        try:
            published = publish()
            status = "FINISHED"
        finally:
            SESSION.finish(started, status)
            SESSION.experiment = before
    return published


def _tracked_run(uri: str, info: dict, step: str) -> str | None:
    """The MLflow run that sync logged for `step` (else for the whole pipeline run), if the
    store at `uri` holds it."""
    from jupyter_mlops.tracking import store

    client = store.client(uri)
    for candidate in ((info.get("mlflow_step_runs") or {}).get(step), info.get("mlflow_run_id")):
        if not candidate:
            continue
        try:
            client.get_run(candidate)
        except Exception:
            continue  # logged to another store, or deleted since
        return str(candidate)
    return None


def _published_before(uri: str, name: str, step: str, artifact: str, sha256: str | None):
    """The version of `name` made from this very artifact file, if there is one."""
    from jupyter_mlops.registry.aliases import quoted
    from jupyter_mlops.registry.promote import CHALLENGER, METRIC_TAG
    from jupyter_mlops.registry.publish import PublishedModel
    from jupyter_mlops.tracking import store

    if not sha256:
        return None
    client = store.client(uri)
    try:
        versions = client.search_model_versions(filter_string=f"name = {quoted(name)}")
    except ValueError:
        return None  # a name no search can quote: publish as usual
    for version in sorted(versions, key=lambda v: int(v.version)):
        tags = version.tags or {}
        same = (tags.get(SHA256_TAG), tags.get("nb2pipe.step"), tags.get("nb2pipe.artifact"))
        if same != (sha256, step, artifact):
            continue
        version = client.get_model_version(name, version.version)  # a search has no aliases
        aliases = list(version.aliases or [])
        metrics = {
            key[len(METRIC_TAG) :]: float(value)
            for key, value in tags.items()
            if key.startswith(METRIC_TAG) and _is_number(value)
        }
        return PublishedModel(
            name,
            str(version.version),
            f"models:/{name}/{version.version}",
            version.run_id,
            CHALLENGER if CHALLENGER in aliases else (aliases[0] if aliases else ""),
            version.description or "",
            metrics,
            already=f"the same artifact {artifact!r} of step {step!r}",
        )
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True
