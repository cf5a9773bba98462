"""Reading tracked runs back: one reader, paged, for the API, the magics and the sidebar.

Every listing is one `search_*` call with `max_results` and MLflow's `page_token`, so an
experiment with thousands of runs costs the same as one with fifty. Times are seconds.
"""

from __future__ import annotations

from typing import Any

from jupyter_mlops.tracking import tags as tag

HIDDEN_TAGS = ("mlflow.log-model.history",)  # large JSON blobs no table shows
OWN_METRICS = "nb2pipe."  # what nb2pipe measures of a run (nb2pipe.duration_s), not a result
MAX_CHILDREN = 1000
# Pipeline runs are the unit of the Experiments panel: MLflow's search keeps them (and only
# them) so that a page of 50 is 50 pipeline runs, whatever step or publish runs sit beside them.
# A sweep is one of them (kind "sweep"); its trials (kind "trial") open from it (sweep_detail).
# MLflow's tag filters have no OR nor IN; `!=` keeps only runs that carry the tag, and step runs
# carry none.
KINDS = {"pipeline": f"tags.`{tag.KIND}` != 'trial'", "all": ""}


def seconds(ms: int | None) -> float | None:
    return ms / 1000 if ms else None


def next_token(page) -> str | None:
    """The page token for the next page (SQL stores hand it out as bytes), None at the end."""
    token = page.token
    if isinstance(token, bytes):
        token = token.decode("ascii")
    return token or None


def kind_of(tags: dict[str, str]) -> str:
    """ "pipeline" (an nb2pipe run), "step" (one of its steps), "sweep" (a sweep: its trials
    nested under it), "trial" (one trial of a sweep: a pipeline run) or "run" (anything else)."""
    kind = tags.get(tag.KIND)
    if kind in ("pipeline", "sweep", "trial"):
        return kind
    return "step" if tag.STEP in tags else "run"


def status_of(kind: str, mlflow_status: str, tags: dict[str, str]) -> str:
    """The run's status in nb2pipe's words where nb2pipe ran it (a cached step is "cached",
    not MLflow's FINISHED), else MLflow's in lower case."""
    if kind != "run" and tags.get(tag.STATUS):
        return tags[tag.STATUS]
    return (mlflow_status or "").lower()


def artifacts_of(tags: dict[str, str]) -> dict[str, dict[str, str]]:
    """What a step saved for the steps after it: {name: {"serializer"}}, from its tags."""
    out: dict[str, dict[str, str]] = {}
    for key, value in tags.items():
        if key.startswith(tag.ARTIFACT) and key.endswith(".serializer"):
            out[key[len(tag.ARTIFACT) : -len(".serializer")]] = {"serializer": value}
    return dict(sorted(out.items()))


def run_dict(run) -> dict[str, Any]:
    """An MLflow run as the runs tables show it: in domain words (its kind, its status as
    nb2pipe says it, the pipeline run and step it is), times in seconds since the epoch."""
    info, data = run.info, run.data
    start, end = info.start_time, info.end_time
    tags = dict(data.tags)
    kind = kind_of(tags)
    return {
        "run_id": info.run_id,
        "name": info.run_name,
        "kind": kind,
        "experiment_id": info.experiment_id,
        "status": status_of(kind, info.status, tags),
        "mlflow_status": info.status,
        "start": seconds(start),
        "end": seconds(end),
        "duration": (end - start) / 1000 if start and end else None,
        "parent": tags.get(tag.PARENT),
        "pipeline_run": tags.get(tag.RUN_ID),
        "step": tags.get(tag.STEP),
        "cached_from": tags.get(tag.CACHED_FROM) or None,
        "artifacts": artifacts_of(tags) if kind == "step" else {},
        "params": dict(data.params),
        # nb2pipe's own metrics (its measured duration) are `duration` above, not a result
        "metrics": {k: v for k, v in data.metrics.items() if not k.startswith(OWN_METRICS)},
        "tags": {k: v for k, v in tags.items() if k not in HIDDEN_TAGS},
    }


def list_experiments(client, max_results: int, page_token: str | None) -> dict[str, Any]:
    found = client.search_experiments(
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
    client,
    experiment_id: str,
    max_results: int,
    page_token: str | None,
    order_by: str | None,
    filter_string: str,
    kind: str = "pipeline",
) -> dict[str, Any]:
    """One page of runs of `kind` ("pipeline", or "all" runs) matching `filter_string`."""
    clauses = [c for c in (KINDS[kind], filter_string.strip()) if c]
    found = client.search_runs(
        [experiment_id],
        filter_string=" AND ".join(clauses),
        max_results=max_results,
        order_by=[order_by] if order_by else None,
        page_token=page_token,
    )
    return {"runs": [run_dict(r) for r in found], "next_page_token": next_token(found)}


def children_of(client, experiment_id: str, run_id: str) -> list[dict[str, Any]]:
    """The runs nested under `run_id` (a pipeline's steps, a sweep's trials), in the order
    they started."""
    children, token = [], None
    while len(children) < MAX_CHILDREN:
        page = client.search_runs(
            [experiment_id],
            # run_id is an MLflow id ([A-Za-z0-9_-]): nothing can close the quotes.
            filter_string=f"tags.`{tag.PARENT}` = '{run_id}'",
            max_results=MAX_CHILDREN,
            order_by=["attributes.start_time ASC"],
            page_token=token,
        )
        children += [run_dict(r) for r in page]
        token = next_token(page)
        if not token:
            break
    return children


def run_detail(client, run_id: str) -> dict[str, Any]:
    run = client.get_run(run_id)
    row = run_dict(run)
    children = children_of(client, run.info.experiment_id, run_id)
    history = {}
    for key in sorted(row["metrics"]):
        points = sorted(client.get_metric_history(run_id, key), key=lambda m: (m.step, m.timestamp))
        history[key] = [[m.step, m.value] for m in points]
    return {"run": row, "children": children, "history": history}


def sweep_detail(client, run_id: str) -> dict[str, Any]:
    """A sweep as the Experiments view shows it: what it searched, by which metric, and each
    trial's parameter values (numbers where every trial's are) and metric value."""
    from jupyter_mlops.errors import TrackingError
    from jupyter_mlops.tracking.store import as_number

    run = client.get_run(run_id)
    tags, params = run.data.tags, run.data.params
    if kind_of(tags) != "sweep":
        raise TrackingError(f"MLflow run {run_id} is not a sweep")
    names = sorted(k.removeprefix("sweep.space.") for k in params if k.startswith("sweep.space."))
    metric = params.get("sweep.metric")
    trials = []
    for child in children_of(client, run.info.experiment_id, run_id):
        if child["kind"] != "trial":
            continue
        trials.append(
            {
                "number": _whole(child["tags"].get(tag.TRIAL)),
                "run_id": child["run_id"],
                "name": child["name"],
                "nb2pipe_run_id": child["pipeline_run"],
                "status": child["status"],
                "params": {n: child["params"].get(n) for n in names},
                "value": child["metrics"].get(metric) if metric else None,
                "best": child["tags"].get(tag.BEST) == "true",
            }
        )
    for name in names:  # typed: a numeric axis where every trial's value is a number
        values = [t["params"][name] for t in trials]
        if values and all(as_number(v) is not None for v in values):
            for trial in trials:
                trial["params"][name] = as_number(trial["params"][name])
    trials.sort(key=lambda t: (t["number"] is None, t["number"] or 0))
    return {
        "sweep": run_dict(run),
        "sweep_id": tags.get(tag.SWEEP_ID),
        "mode": params.get("sweep.mode"),
        "metric": metric,
        "direction": params.get("sweep.direction") or "max",
        "params": names,
        "best": _whole(tags.get(tag.BEST_TRIAL)),
        "trials": trials,
    }


def _whole(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def recent_runs(client, experiment: str, n: int = 10) -> list[dict[str, Any]]:
    """The `n` latest top-level runs of experiment `experiment` (by name), newest first: a
    pipeline run counts once, its step runs come nested under it as "steps"."""
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    runs = client.search_runs(
        [found.experiment_id],
        filter_string=f"tags.`{tag.PARENT}` IS NULL",
        max_results=n,
        order_by=["attributes.start_time DESC"],
    )
    out = []
    for r in runs:
        row = run_dict(r)
        row["steps"] = (
            children_of(client, found.experiment_id, row["run_id"])
            if row["kind"] == "pipeline"
            else []
        )
        out.append(row)
    return out
