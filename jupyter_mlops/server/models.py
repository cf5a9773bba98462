"""Models panel routes: registered models, versions, aliases and model cards; publish, promote.

Reading goes straight to MlflowClient. Publishing and the champion/challenger gate go through
`jupyter_mlops.registry.publish_run`, the same code as ``nb2pipe publish``/``promote`` and `make demo`,
pointed at the server's tracking URI.
"""

from __future__ import annotations

import numbers
from typing import Any

import tornado

from jupyter_mlops.server.base import ApiError, MlopsHandler
from jupyter_mlops.server.experiments import next_token, seconds
from jupyter_mlops.server.paths import artifact_name, find_run, step_name

METRIC_TAG = "metric."  # as jupyter_mlops.registry.publish tags each version with its metrics


def _quoted(name: str) -> str:
    """`name` as a string literal of MLflow's search grammar."""
    for quote in ("'", '"'):
        if quote not in name:
            return f"{quote}{name}{quote}"
    raise ApiError(400, "a model name holding both kinds of quotes cannot be searched")


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def list_models(state, max_results: int, page_token: str | None) -> dict[str, Any]:
    found = state.client().search_registered_models(
        max_results=max_results, order_by=["name ASC"], page_token=page_token
    )
    models = []
    for m in found:
        versions = [int(v.version) for v in (m.latest_versions or [])]
        models.append(
            {
                "name": m.name,
                "aliases": {alias: str(v) for alias, v in sorted((m.aliases or {}).items())},
                "latest_version": str(max(versions)) if versions else None,
                "description": m.description or "",
                "last_update": seconds(m.last_updated_timestamp),
            }
        )
    return {"models": models, "next_page_token": next_token(found)}


def model_detail(state, name: str) -> dict[str, Any]:
    client = state.client()
    model = client.get_registered_model(name)  # 404 when it does not exist
    versions, token = [], None
    while True:
        page = client.search_model_versions(
            filter_string=f"name = {_quoted(name)}", page_token=token
        )
        versions += list(page)
        token = next_token(page)
        if not token:
            break
    aliases = {alias: str(v) for alias, v in sorted((model.aliases or {}).items())}
    # search_model_versions leaves `aliases` empty on SQL stores: the model's map is complete.
    by_version: dict[str, set[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(version, set()).add(alias)
    out = []
    for v in sorted(versions, key=lambda v: int(v.version), reverse=True):
        tags = dict(v.tags or {})
        out.append(
            {
                "version": str(v.version),
                "aliases": sorted(set(v.aliases or []) | by_version.get(str(v.version), set())),
                "run_id": v.run_id,
                "status": v.status,
                "tags": tags,
                "metrics": {
                    k[len(METRIC_TAG) :]: _number(t)
                    for k, t in tags.items()
                    if k.startswith(METRIC_TAG)
                },
                "description": v.description or "",
                "created": seconds(v.creation_timestamp),
            }
        )
    return {
        "name": model.name,
        "description": model.description or "",
        "aliases": aliases,
        "versions": out,
    }


def publish(state, name: str, run, step: str, artifact: str, metric, description) -> dict:
    """Publish artifact `artifact` of `step` in nb2pipe run `run` as a new version of `name`."""
    from jupyter_mlops.registry.publish_run import publish_from_run

    published = publish_from_run(
        run,
        name,
        step=step,
        artifact=artifact,
        metric=metric,
        description=description,
        tracking_uri=state.tracking_uri,
    )
    return {
        "name": published.name,
        "version": str(published.version),
        "aliases": [published.alias],
        "model_uri": published.model_uri,
        "mlflow_run_id": published.run_id,
        "metrics": published.metrics,
    }


def promote(state, name: str, metric: str, greater_is_better: bool, threshold: float) -> dict:
    from jupyter_mlops.registry import publish_run as publishing

    decision = publishing.promote(
        name,
        metric,
        greater_is_better=greater_is_better,
        threshold=threshold,
        tracking_uri=state.tracking_uri,
    )
    champion = decision.challenger_version if decision.promoted else decision.champion_version
    return {
        "promoted": decision.promoted,
        "challenger": decision.challenger_version,
        "champion": champion,
        "values": {"challenger": decision.challenger_value, "champion": decision.champion_value},
        "reason": decision.reason,
    }


class ModelsHandler(MlopsHandler):
    """GET models: registered models with their aliases and latest version."""

    @tornado.web.authenticated
    async def get(self) -> None:
        max_results = self.int_argument("max_results", 100, 1, 1000)
        token = self.get_query_argument("page_token", None) or None
        self.reply(await self.blocking(list_models, self.state, max_results, token))


class ModelHandler(MlopsHandler):
    """GET models/<name>: versions, aliases and model cards."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        self.reply(await self.blocking(model_detail, self.state, name))


class PublishHandler(MlopsHandler):
    """POST models/<name>/publish {run_id, step, artifact, metric?, description?, path?}"""

    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        body = self.body()
        step = step_name(body.get("step"))
        artifact = artifact_name(body.get("artifact"))
        metric = body.get("metric")
        description = body.get("description")
        for key, value in (("metric", metric), ("description", description)):
            if value is not None and not isinstance(value, str):
                raise ApiError(400, f"{key}: a string")
        if not name.strip():
            raise ApiError(400, "the model needs a name")
        run = await self.blocking(find_run, self.state, body.get("run_id"), body.get("path"))
        published = await self.blocking(
            publish, self.state, name, run, step, artifact, metric or None, description
        )
        self.reply(published)


class PromoteHandler(MlopsHandler):
    """POST models/<name>/promote {metric, greater_is_better?, threshold?}"""

    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        body = self.body()
        metric = body.get("metric")
        greater = body.get("greater_is_better", True)
        threshold = body.get("threshold", 0)
        if not isinstance(metric, str) or not metric:
            raise ApiError(400, "metric: the name of the metric the gate compares")
        if not isinstance(greater, bool):
            raise ApiError(400, "greater_is_better: true or false")
        if not isinstance(threshold, numbers.Real) or isinstance(threshold, bool):
            raise ApiError(400, "threshold: a number")
        decision = await self.blocking(promote, self.state, name, metric, greater, float(threshold))
        self.reply(decision)
