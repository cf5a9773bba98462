"""Two runs side by side: their parameters and metrics, differences marked."""

from __future__ import annotations

from typing import Any

from jupyter_mlops.errors import TrackingError, translated
from jupyter_mlops.tracking import store


def find_run(client, ref: str, experiment_ids: list[str]):
    """A run by its id, or by a unique prefix of it among the experiment's recent runs."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_run(ref)
    except MlflowException as e:
        if e.error_code in ("PERMISSION_DENIED", "UNAUTHENTICATED"):
            raise
    matches = [
        r
        for r in client.search_runs(experiment_ids, max_results=1000)
        if r.info.run_id.startswith(ref)
    ]
    if len(matches) != 1:
        problem = "no run" if not matches else f"{len(matches)} runs"
        raise TrackingError(f"{problem} matching {ref!r} in the current experiment")
    return matches[0]


def compare_runs(first: str, second: str) -> tuple[list[str], list[list[Any]]]:
    """Header and rows: one row per parameter and metric of either run."""
    from jupyter_mlops.tracking.session import SESSION

    SESSION.flush()
    uri = SESSION.uri
    with translated("read runs", uri):
        client = store.client(uri)
        experiment = client.get_experiment_by_name(SESSION.runs_experiment())
        ids = [experiment.experiment_id] if experiment else []
        a, b = find_run(client, first, ids), find_run(client, second, ids)
    rows: list[list[Any]] = []
    for kind, left, right in (
        ("param", a.data.params, b.data.params),
        ("metric", a.data.metrics, b.data.metrics),
    ):
        for key in sorted(set(left) | set(right)):
            x, y = left.get(key), right.get(key)
            rows.append([kind, key, x, y, "*" if x != y else ""])
    headers = ["", "name", label(a), label(b)]
    return [*headers, "differs"], rows


def label(run) -> str:
    """A column's heading: the run's name and its id, so two runs named alike (two steps
    called evaluate) are still told apart."""
    short = run.info.run_id[:8]
    return f"{run.info.run_name} · {short}" if run.info.run_name else short
