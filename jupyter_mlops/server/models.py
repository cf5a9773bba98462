"""Models view routes: registered models; a model's versions in domain words (aliases, the
run each came from, the gate's decision, the pre-deployment checks and per-slice results the
registry holds, the model card) and its alias history; publish, promote, move an alias.

Reading goes through `jupyter_mlops.registry.read`. Publishing, the champion/challenger gate and
alias moves go through the registry's own code (`publish_run`, `promote`, `aliases`), the same
as ``nb2pipe publish``/``promote`` and `make demo`, pointed at the server's tracking URI.
"""

from __future__ import annotations

import numbers
import re

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


def run_name(state, pipeline_run: str | None) -> str | None:
    """The name of nb2pipe run `pipeline_run` when its folder is in the server root's project."""
    from jupyter_mlops.server.paths import workspace_for
    from jupyter_mlops.tracking.names import name_of_run

    if not pipeline_run:
        return None
    try:
        found = workspace_for(state.root, None).run(pipeline_run)
    except (OSError, ValueError):
        return None
    return name_of_run(found.path, found.info()) if found is not None else None


def model_view(state, client, name: str) -> dict:
    """GET models/<name>: the registry's answer (versions with their lineage and run name,
    gate decision and its slices, checks; the alias history)."""
    detail = read.model_detail(client, name)
    names: dict[str, str | None] = {}
    for version in detail["versions"]:
        run = version["pipeline_run"]
        if version["run_name"] is None:  # published before versions recorded it
            if run not in names:
                names[run] = run_name(state, run)
            version["run_name"] = names[run]
    return detail


class ModelHandler(MlopsHandler):
    """GET models/<name>: versions, aliases, checks, slices, history and model cards."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        client = self.state.client
        try:
            self.reply(await self.blocking(lambda: model_view(self.state, client(), name)))
        except ValueError as e:  # a name the search grammar cannot quote
            raise ApiError(400, str(e)) from None


_ALIAS = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,127}")


def move(state, name: str, alias: str, version: str, why: str) -> dict:
    from jupyter_mlops.errors import translated
    from jupyter_mlops.registry.aliases import holder, move_alias
    from jupyter_mlops.tracking import store

    with translated(f"move alias {alias!r} of model {name!r}", state.tracking_uri):
        client = store.client(state.tracking_uri)
        client.get_model_version(name, version)  # an unknown model or version: MLflow's 404
        moved = move_alias(client, name, alias, version, why=why or "moved from the Models view")
        if moved is None:  # it pointed there already: nothing moved, nothing recorded
            return {"alias": alias, "from": holder(client, name, alias), "to": version}
    return moved.as_dict()


class AliasHandler(MlopsHandler):
    """POST models/<name>/aliases {alias, version, reason?}: point an alias at a version."""

    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        body = self.body()
        alias, version, reason = body.get("alias"), body.get("version"), body.get("reason", "")
        if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):
            raise ApiError(400, "alias: a name such as champion or challenger")
        if isinstance(version, int) and not isinstance(version, bool):
            version = str(version)
        if not isinstance(version, str) or not version.isdigit():
            raise ApiError(400, 'version: a version number such as "3"')
        if not isinstance(reason, str) or len(reason) > 1000:
            raise ApiError(400, "reason: a line of text")
        self.reply(await self.blocking(move, self.state, name, alias, version, reason))


def roll_back(state, name: str, why: str) -> dict:
    from jupyter_mlops.errors import translated
    from jupyter_mlops.registry.aliases import rollback
    from jupyter_mlops.tracking import store

    with translated(f"roll back model {name!r}", state.tracking_uri):
        client = store.client(state.tracking_uri)
        client.get_registered_model(name)  # an unknown model: MLflow's 404, as for the aliases
        return rollback(client, name, why=why).as_dict()


class RollbackHandler(MlopsHandler):
    """POST models/<name>/rollback {reason?}: champion back to the champion before it, as
    `nb2pipe rollback` does; a model with no earlier champion recorded is a 400."""

    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        reason = self.body().get("reason", "")
        if not isinstance(reason, str) or len(reason) > 1000:
            raise ApiError(400, "reason: a line of text")
        self.reply(await self.blocking(roll_back, self.state, name, reason.strip()))


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
