"""Experiments and MLflow runs, read page by page from the server's tracking store.

Every listing is one `search_*` call with `max_results` and MLflow's `page_token`, so an
experiment with thousands of runs costs the same as one with fifty.
"""

from __future__ import annotations

import re
from typing import Any

import tornado

from jupyter_mlops.server.base import ApiError, MlopsHandler

# `metrics.accuracy DESC`, `params.lr`, `attributes.start_time ASC`, `` metrics.`f1 score` ``
_ORDER_BY = re.compile(
    r"(?:(?:metrics?|params?|tags?|attributes?)\.(?:`[^`]{1,250}`|[\w.\-]{1,250})"
    r"|start_time|end_time|run_name|status)(?:\s+(?:ASC|DESC))?",
    re.IGNORECASE,
)
_MLFLOW_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")
HIDDEN_TAGS = ("mlflow.log-model.history",)  # large JSON blobs the table never shows
MAX_CHILDREN = 1000


def mlflow_id(value: str, what: str) -> str:
    if not _MLFLOW_ID.fullmatch(value):
        raise ApiError(400, f"{what}: not an MLflow id: {value[:80]!r}")
    return value


def seconds(ms: int | None) -> float | None:
    return ms / 1000 if ms else None


def next_token(page) -> str | None:
    """The page token for the next page (SQL stores hand it out as bytes), None at the end."""
    token = page.token
    if isinstance(token, bytes):
        token = token.decode("ascii")
    return token or None


def run_dict(run) -> dict[str, Any]:
    """An MLflow run as the runs table shows it (times in seconds since the epoch)."""
    info, data = run.info, run.data
    start, end = info.start_time, info.end_time
    return {
        "run_id": info.run_id,
        "name": info.run_name,
        "experiment_id": info.experiment_id,
        "status": info.status,
        "start": seconds(start),
        "end": seconds(end),
        "duration": (end - start) / 1000 if start and end else None,
        "params": dict(data.params),
        "metrics": dict(data.metrics),
        "tags": {k: v for k, v in data.tags.items() if k not in HIDDEN_TAGS},
    }


def list_experiments(state, max_results: int, page_token: str | None) -> dict[str, Any]:
    found = state.client().search_experiments(
        max_results=max_results, order_by=["last_update_time DESC"], page_token=page_token
    )
    return {
        "experiments": [
            {
                "id": e.experiment_id,
                "name": e.name,
                "last_update": seconds(e.last_update_time),
                "created": seconds(e.creation_time),
            }
            for e in found
        ],
        "next_page_token": next_token(found),
    }


def list_runs(
    state,
    experiment_id: str,
    max_results: int,
    page_token: str | None,
    order_by: str | None,
    filter_string: str,
) -> dict[str, Any]:
    found = state.client().search_runs(
        [experiment_id],
        filter_string=filter_string,
        max_results=max_results,
        order_by=[order_by] if order_by else None,
        page_token=page_token,
    )
    return {"runs": [run_dict(r) for r in found], "next_page_token": next_token(found)}


def run_detail(state, run_id: str) -> dict[str, Any]:
    client = state.client()
    run = client.get_run(run_id)
    children, token = [], None
    while len(children) < MAX_CHILDREN:
        page = client.search_runs(
            [run.info.experiment_id],
            # run_id is checked to be [A-Za-z0-9_-]: nothing can close the quotes.
            filter_string=f"tags.mlflow.parentRunId = '{run_id}'",
            max_results=MAX_CHILDREN,
            order_by=["attributes.start_time ASC"],
            page_token=token,
        )
        children += [run_dict(r) for r in page]
        token = next_token(page)
        if not token:
            break
    history = {}
    for key in sorted(run.data.metrics):
        points = sorted(client.get_metric_history(run_id, key), key=lambda m: (m.step, m.timestamp))
        history[key] = [[m.step, m.value] for m in points]
    return {"run": run_dict(run), "children": children, "history": history}


class ExperimentsHandler(MlopsHandler):
    """GET experiments: every experiment, most recently updated first."""

    @tornado.web.authenticated
    async def get(self) -> None:
        max_results = self.int_argument("max_results", 1000, 1, 1000)
        token = self.get_query_argument("page_token", None) or None
        self.reply(await self.blocking(list_experiments, self.state, max_results, token))


class ExperimentRunsHandler(MlopsHandler):
    """GET experiments/<id>/runs: one page of the experiment's runs."""

    @tornado.web.authenticated
    async def get(self, experiment_id: str) -> None:
        max_results = self.int_argument("max_results", 50, 1, 1000)
        token = self.get_query_argument("page_token", None) or None
        order_by = (self.get_query_argument("order_by", "") or "").strip() or None
        if order_by is not None and not _ORDER_BY.fullmatch(order_by):
            raise ApiError(
                400, f"order_by: expected e.g. 'metrics.accuracy DESC', not {order_by[:80]!r}"
            )
        # The filter goes to MLflow's search grammar, which parses it; nothing evaluates it.
        filter_string = self.get_query_argument("filter", "") or ""
        if len(filter_string) > 2000:
            raise ApiError(400, "filter: too long")
        page = await self.blocking(
            list_runs,
            self.state,
            mlflow_id(experiment_id, "experiment id"),
            max_results,
            token,
            order_by,
            filter_string,
        )
        self.reply(page)


class MlflowRunHandler(MlopsHandler):
    """GET mlflow-runs/<id>: one run, its nested step runs and its metric histories."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        self.reply(await self.blocking(run_detail, self.state, mlflow_id(run_id, "run id")))
