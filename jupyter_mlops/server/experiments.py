"""Experiments view routes: experiments, one page of runs, one run with its step runs, a sweep.

The reading is jupyter_mlops.tracking.read's; here are the routes, their arguments and checks.
"""

from __future__ import annotations

import re
from pathlib import Path

import tornado

from jupyter_mlops.server.base import ApiError, MlopsHandler, one_line
from jupyter_mlops.server.paths import resolve
from jupyter_mlops.tracking import read

# `metrics.accuracy DESC`, `params.lr`, `attributes.start_time ASC`, `` metrics.`f1 score` ``
_ORDER_BY = re.compile(
    r"(?:(?:metrics?|params?|tags?|attributes?)\.(?:`[^`]{1,250}`|[\w.\-]{1,250})"
    r"|start_time|end_time|run_name|status)(?:\s+(?:ASC|DESC))?",
    re.IGNORECASE,
)
_MLFLOW_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")


def mlflow_id(value: str, what: str) -> str:
    if not _MLFLOW_ID.fullmatch(value):
        raise ApiError(400, f"{what}: not an MLflow id: {value[:80]!r}")
    return value


def notebook_experiment(notebook: Path) -> str:
    """The experiment `notebook`'s pipeline runs are logged to (tracking.observer's rule)."""
    from jupyter_mlops.tracking import config
    from nb2pipe.compile.compiler import pipeline_name

    return config.experiment_name(pipeline_name(notebook), notebook.parent)


class ExperimentsHandler(MlopsHandler):
    """GET experiments[?path=]: every experiment, most recently updated first; with `path`,
    also the name of the experiment that notebook's runs go to."""

    @tornado.web.authenticated
    async def get(self) -> None:
        max_results = self.int_argument("max_results", 1000, 1, 1000)
        token = self.get_query_argument("page_token", None) or None
        path = self.get_query_argument("path", None)
        notebook = resolve(self.state.root, path) if path else None
        client = self.state.client

        def listing() -> dict:
            answer = read.list_experiments(client(), max_results, token)
            if notebook is not None:
                answer["notebook_experiment"] = notebook_experiment(notebook)
            return answer

        self.reply(await self.blocking(listing))


class ExperimentRunsHandler(MlopsHandler):
    """GET experiments/<id>/runs: one page of the experiment's pipeline runs and sweeps
    (`kind=all`: of every run); a pipeline's step runs come with GET mlflow-runs/<id>, a
    sweep's trials with GET sweeps/<id>."""

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
        kind = self.get_query_argument("kind", "pipeline")
        if kind not in read.KINDS:
            raise ApiError(400, f"kind: one of {', '.join(read.KINDS)}, not {kind[:40]!r}")
        experiment_id = mlflow_id(experiment_id, "experiment id")
        client = self.state.client

        def search() -> dict:
            from mlflow.exceptions import MlflowException

            try:
                return read.list_runs(
                    client(), experiment_id, max_results, token, order_by, filter_string, kind
                )
            except MlflowException as e:
                if e.error_code != "INVALID_PARAMETER_VALUE" or not filter_string.strip():
                    raise
                raise ApiError(
                    400, f"filter {filter_string[:80]!r}: {one_line(e.message)}"
                ) from None

        self.reply(await self.blocking(search))


class MlflowRunHandler(MlopsHandler):
    """GET mlflow-runs/<id>: one run, its nested step runs and its metric histories."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        run_id = mlflow_id(run_id, "run id")
        client = self.state.client
        self.reply(await self.blocking(lambda: read.run_detail(client(), run_id)))


class SweepHandler(MlopsHandler):
    """GET sweeps/<mlflow run id>: a sweep, its trials' parameters and metric (its row in the
    Experiments view opens to them and their parallel-coordinates chart)."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        run_id = mlflow_id(run_id, "run id")
        client = self.state.client
        self.reply(await self.blocking(lambda: read.sweep_detail(client(), run_id)))
