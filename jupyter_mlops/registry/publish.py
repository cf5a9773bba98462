"""The shared model registry: publish documented versions, and read what it holds.

Publishing logs the model with its MLflow flavour (scikit-learn, else a pickled pyfunc),
registers a version whose description is the model card, tags it with its metrics and lineage
and points the alias ``challenger`` at it. `promote` (gate.py) moves ``champion`` to the
challenger only when it wins on the named metric. Aliases only: MLflow's stages are deprecated.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_mlops.errors import ModelGateError, TrackingError, translated
from jupyter_mlops.registry import aliases, expected, flavors, modelcard, serve_package
from jupyter_mlops.registry.promote import CHALLENGER, METRIC_TAG
from jupyter_mlops.tracking import config, journal, provenance, store
from nb2pipe.fileio import read_json
from nb2pipe.runner.rundir import RunDir


@dataclass
class PublishedModel:
    name: str
    version: str
    model_uri: str  # models:/<name>/<version>
    run_id: str
    alias: str = CHALLENGER
    card: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    already: str = ""  # published before: what makes it the same model (else empty)


# --- publish ---------------------------------------------------------------------------------


@dataclass
class _Where:
    """Where `publish_model` is called from: a pipeline step or an interactive session."""

    notebook: Path | None = None
    purpose: str = ""
    pipeline_run: str | None = None
    step: str | None = None
    input_hashes: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


def _in_step(run_dir: Path, step: str) -> _Where:
    run = RunDir(run_dir)
    info = run.info()
    meta = run.meta(step) or {}
    parts = meta.get("parts") or {}
    recorded = journal.read(run.step_dir(step))
    manifest = read_json(run.artifacts(step) / "manifest.json") or {}
    source = info.get("source")
    description = ""
    try:
        import yaml

        description = (yaml.safe_load((run.path / "pipeline.yaml").read_text()) or {}).get(
            "description", ""
        )
    except (OSError, ValueError, ImportError):
        pass
    return _Where(
        notebook=Path(source) if source else None,
        purpose=description or modelcard.purpose_from_notebook(source),
        pipeline_run=run.id,
        step=step,
        input_hashes=dict(parts.get("inputs") or {}),
        params={**recorded.params, **(parts.get("params") or {})},
        metrics={
            **{m.key: m.value for m in recorded.metrics},
            **manifest.get("metrics", {}),
        },
    )


def _interactive() -> _Where:
    from jupyter_mlops.tracking.session import SESSION, notebook_path

    notebook = notebook_path()
    where = _Where(notebook=notebook, purpose=modelcard.purpose_from_notebook(notebook))
    run = SESSION.stack[-1] if SESSION.stack else SESSION.auto
    if run is not None and not run.ended:
        where.params = run.params
        where.metrics = dict(run.latest)
    return where


def publish_model(
    model: Any,
    name: str,
    *,
    metric: str | None = None,
    metrics: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    data: Any = None,
    description: str | None = None,
    notebook: str | Path | None = None,
    pip_requirements: list[str] | None = None,
    tags: dict[str, Any] | None = None,
    alias: str = CHALLENGER,
    run_id: str | None = None,
    serve: bool | str | Path = True,
) -> PublishedModel:
    """Log `model`, register it as a new version of `name`, document it, alias it `challenger`.

    `metric` names the metric the gate compares (its value comes from `metrics`, else from what
    this run or step logged). `data` is the model's input DataFrame: its schema, a few rows and
    its content hash go into the card, and it gives the model a signature. `description`
    replaces the purpose taken from the notebook's first markdown cell (or Pipeline.description).
    `run_id` is an existing MLflow run to log the model into (a pipeline step's run, which
    already holds the metrics and parameters): then no run is created. When the notebook has
    `serve` cells, the model is published with them as one pyfunc, proved equal to the notebook
    first (`serve`: True finds them where the model was made — the pipeline run of this step,
    else this kernel; an nb2pipe run folder names the run; False publishes the model alone).
    """
    if not isinstance(name, str) or not name.strip():
        raise TrackingError("publish_model: the model needs a name")
    flavor = flavors.flavor_of(model)
    if flavor == "pyfunc" and not callable(getattr(model, "predict", None)):
        raise TrackingError(
            f"publish_model: {type(model).__name__} has no predict() method to serve"
        )
    from jupyter_mlops.tracking.session import SESSION

    SESSION.flush()  # what the notebook logged so far is in MLflow before the model joins it
    step = journal.current_step()
    where = _in_step(*step) if step else _interactive()
    if notebook is not None:
        where.notebook = Path(notebook)
        where.purpose = modelcard.purpose_from_notebook(notebook) or where.purpose
    where.pipeline_run = where.pipeline_run or (tags or {}).get("nb2pipe.run_id")
    where.step = where.step or (tags or {}).get("nb2pipe.step")
    given = {}
    for key, value in (metrics or {}).items():
        number = store.as_number(value)
        if number is None:
            raise TrackingError(f"publish_model: metric {key!r} is not a number: {value!r:.60}")
        given[key] = number
    values = {**where.metrics, **given}
    if metric is not None and metric not in values:
        raise ModelGateError(
            f"publish_model: metric {metric!r} has no value: pass metrics={{{metric!r}: ...}} "
            "or log it first"
        )
    all_params = {**where.params, **(params or {})}
    summary = modelcard.summarize_data(data)
    source = _serve_source(serve, step, where.notebook)
    reqs = pip_requirements or flavors.requirements(model, flavor, source)
    packaged = serve_package.package(source, model, reqs) if source else None
    flavor = "pyfunc" if source else flavor
    if step:  # the runner's tracker points the step's kernel at its store
        uri = config.tracking_uri(where.notebook.parent if where.notebook else None)
    else:
        from jupyter_mlops.tracking.session import SESSION

        uri = SESSION.uri
    origin = provenance.collect(config.project_root(where.notebook or Path.cwd()))
    with translated(f"publish model {name!r}", uri):
        client = store.client(uri)
        into = run_id is not None
        if into:
            pass  # the run is the pipeline's own: it holds the values already
        elif step:
            run_id = _step_publish_run(client, uri, name, where, origin)
            store.log_batch(client, run_id, _metric_list(values), all_params)
        else:
            run_id = _session_run(params or {}, given)
        if packaged:
            info = flavors.log_served(uri, run_id, packaged.options)
            packaged.folder.cleanup()
        else:
            info = flavors.log_model(model, flavor, uri, run_id, reqs, data)
        version_tags = {
            **{f"{METRIC_TAG}{k}": repr(v) for k, v in values.items()},
            "gate.metric": metric or "",
            "model.flavor": flavor,
            "model.class": f"{type(model).__module__}.{type(model).__qualname__}",
            "git.commit": origin["git_commit"] or "",
            "git.dirty": "" if origin["git_dirty"] is None else str(origin["git_dirty"]),
            "notebook": str(where.notebook or ""),
            "nb2pipe.run_id": where.pipeline_run or "",
            "nb2pipe.step": where.step or "",
            "data.sha256": summary.sha256 if summary and summary.sha256 else "",
            "published_by": origin["user"],
            **(serve_package.version_tags(source, packaged.proof) if packaged else {}),
            **{k: str(v) for k, v in (tags or {}).items()},
        }
        version = str(_register(client, name, info, run_id, version_tags).version)
        # With serve cells, a served copy is asked raw rows, and answers through its cells.
        served = (packaged.loaded, source.kept.input) if packaged else (model, data)
        _record_expected(client, name, version, run_id, *served)
        card = modelcard.render(
            modelcard.CardContext(
                name=name,
                version=version,
                purpose=modelcard.purpose(description or where.purpose),
                flavor=flavor,
                model_class=version_tags["model.class"],
                gate_metric=metric,
                metrics=values,
                params=all_params,
                data=summary,
                lineage={
                    "notebook": _shown_path(where.notebook),
                    "git commit": origin["git_commit"],
                    "uncommitted changes": origin["git_dirty"],
                    "pipeline run": where.pipeline_run,
                    "pipeline step": where.step,
                    "MLflow run": run_id,
                    "model URI": info.model_uri,
                    "executed notebook": _executed_page(client, run_id if into else None),
                },
                input_hashes=where.input_hashes,
                requirements=reqs,
                serve=modelcard.serve_section(source, packaged.proof) if packaged else None,
                published_by=origin["user"],
                published_at=time.strftime("%Y-%m-%d %H:%M %Z"),
            )
        )
        client.update_model_version(name, version, description=card)
        client.log_text(run_id, card, f"model_cards/{name}-v{version}.md")
        aliases.move_alias(client, name, alias, version, why="published", kind="publish")
        if step:
            store.end_run(client, uri, run_id, "FINISHED")
            journal.StepJournal(*step).model({"name": name, "version": version, "run_id": run_id})
    return PublishedModel(name, version, f"models:/{name}/{version}", run_id, alias, card, values)


def _serve_source(serve: bool | str | Path, step, notebook: Path | None):
    """The notebook's serve cells and what they ran on, where the model was made (or None)."""
    if serve is False:
        return None
    if serve is not True:
        return serve_package.from_run(serve)
    if step:
        return serve_package.from_run(step[0])
    if notebook is not None and serve_package.tagged(notebook):
        return serve_package.from_session(notebook)
    return None


def _record_expected(client, name: str, version: str, run_id: str, model: Any, data: Any) -> None:
    """The card's sample rows and what `model` predicts on them: what every served copy of this
    version must predict (`serving.checks`). Without data there is nothing to record."""
    if not hasattr(data, "head") or not hasattr(data, "columns") or len(data) == 0:
        return
    rows = data.head(expected.ROWS)
    try:
        predictions = model.predict(rows)
    except Exception:
        predictions = None  # the deployment checks say how it fails on its own rows
    expected.record_expected(client, name, version, run_id, rows, predictions)


def _executed_page(client, run_id: str | None) -> str | None:
    """The rendered executed notebook of the step run the model was logged into, if any."""
    if run_id is None:
        return None
    from jupyter_mlops.tracking.notebook_html import HTML_NAME

    try:
        logged = {a.path for a in client.list_artifacts(run_id)}
    except Exception:
        return None  # the link is a convenience; the card stands without it
    return f"runs:/{run_id}/{HTML_NAME}" if HTML_NAME in logged else None


def _shown_path(notebook: Path | None) -> str:
    """The notebook as the team sees it: relative to the project's root when inside it."""
    if notebook is None:
        return ""
    try:
        return str(Path(notebook).resolve().relative_to(config.project_root(notebook).resolve()))
    except ValueError:
        return str(notebook)


def _metric_list(values: dict[str, float]) -> list[store.Metric]:
    when = store.now_ms()
    return [store.Metric(k, v, when) for k, v in values.items()]


def _session_run(params: dict[str, Any], metrics: dict[str, float]) -> str:
    """Interactively, the model goes into the session's current run, with the values given."""
    from jupyter_mlops.tracking.session import SESSION

    run = SESSION.current()
    run.add_params(params)
    run.add_metrics(metrics, None)
    run.flush()
    return run.id


def _step_publish_run(client, uri: str, name: str, where: _Where, origin: dict) -> str:
    """In a pipeline step, a run of its own for the model.

    The step's run exists only once the pipeline finishes; runsync nests this run under it
    then, and meanwhile it carries the step's lineage as tags.
    """
    experiment = config.experiment_name(None, where.notebook.parent if where.notebook else None)
    created = client.create_run(
        store.experiment_id(client, experiment, uri),
        run_name=f"publish {name}",
        tags={
            "nb2pipe.run_id": where.pipeline_run or "",
            "nb2pipe.step": where.step or "",
            "mlflow.user": origin["user"],
            "mlflow.source.git.commit": origin["git_commit"] or "",
        },
    )
    return created.info.run_id


def _register(client, name: str, info, run_id: str, tags: dict[str, str]):
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(name)
    except MlflowException as e:
        if e.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    return client.create_model_version(
        name,
        source=info.model_uri,
        run_id=run_id,
        tags={k: v for k, v in tags.items() if v},
        model_id=getattr(info, "model_id", None),
    )
