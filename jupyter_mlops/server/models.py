"""Models panel routes: registered models, versions, aliases and model cards; publish, promote.

Reading goes straight to MlflowClient. Publishing and the champion/challenger gate go through
`jupyter_mlops.registry.publish_run`, the same code as ``nb2pipe publish``/``promote`` and `make demo`,
pointed at the server's tracking URI.
"""

from __future__ import annotations

import numbers

import tornado

from jupyter_mlops.registry import read
from jupyter_mlops.server.base import ApiError, MlopsHandler
from jupyter_mlops.server.paths import artifact_name, find_run, step_name


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
        "already_published": bool(published.already),  # the same model: no version added
    }


def promote(state, name: str, metric: str, greater_is_better: bool, threshold: float) -> dict:
    from jupyter_mlops.registry.promote import promote as gate

    decision = gate(
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
        client = self.state.client
        self.reply(await self.blocking(lambda: read.list_models(client(), max_results, token)))


class ModelHandler(MlopsHandler):
    """GET models/<name>: versions, aliases and model cards."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        client = self.state.client
        try:
            self.reply(await self.blocking(lambda: read.model_detail(client(), name)))
        except ValueError as e:  # a name the search grammar cannot quote
            raise ApiError(400, str(e)) from None


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
