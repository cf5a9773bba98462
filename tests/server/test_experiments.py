"""Experiments and MLflow runs, paged through MlflowClient.search_runs."""

from __future__ import annotations

import time

import pytest
from serverkit import PAGING_EXPERIMENT, PAGING_NESTED_PARENTS, PAGING_RUNS, PAGING_STEPS

pytestmark = pytest.mark.slow


def experiment_id(server, name: str) -> str:
    answer = server.get("experiments")
    assert answer.status_code == 200, answer.text
    found = {e["name"]: e for e in answer.json()["experiments"]}
    assert found[name]["last_update"] > 0
    return found[name]["id"]


def test_page_through_runs_50_at_a_time(server):
    exp = experiment_id(server, PAGING_EXPERIMENT)
    seen, sizes, token = [], [], None
    slowest = 0.0
    while True:
        query = {"max_results": 50, **({"page_token": token} if token else {})}
        start = time.monotonic()
        answer = server.get(f"experiments/{exp}/runs", params=query)
        slowest = max(slowest, time.monotonic() - start)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        sizes.append(len(page["runs"]))
        seen += [r["run_id"] for r in page["runs"]]
        token = page["next_page_token"]
        if not token:
            break
    assert sizes == [50, 50, 20]
    assert len(set(seen)) == PAGING_RUNS
    assert slowest < 5, slowest
    run = page["runs"][0]
    assert set(run) >= {
        "run_id",
        "name",
        "status",
        "start",
        "duration",
        "params",
        "metrics",
        "tags",
    }
    # in domain words: a pipeline run without nb2pipe's own status says MLflow's, in lower case
    assert run["kind"] == "pipeline" and run["status"] == "finished"
    assert run["mlflow_status"] == "FINISHED" and run["duration"] == pytest.approx(1.0)


def test_pages_count_pipeline_runs_only_unless_kind_all(server):
    exp = experiment_id(server, PAGING_EXPERIMENT)
    every = server.get(f"experiments/{exp}/runs", params={"kind": "all", "max_results": 1000})
    runs = every.json()["runs"]
    # the step runs and the publish run exist, and the default listing leaves them out
    assert len(runs) == PAGING_RUNS + PAGING_NESTED_PARENTS * PAGING_STEPS + 1
    first = server.get(f"experiments/{exp}/runs", params={"max_results": 1000}).json()["runs"]
    assert len(first) == PAGING_RUNS
    assert all(r["tags"]["nb2pipe.kind"] == "pipeline" for r in first)


def test_order_and_filter(server):
    exp = experiment_id(server, PAGING_EXPERIMENT)
    best = server.get(
        f"experiments/{exp}/runs", params={"max_results": 3, "order_by": "metrics.acc DESC"}
    ).json()["runs"]
    assert [r["params"]["i"] for r in best] == ["119", "118", "117"]
    low = server.get(
        f"experiments/{exp}/runs", params={"filter": "metrics.acc < 0.05", "max_results": 100}
    ).json()
    assert len(low["runs"]) == 6 and low["next_page_token"] is None


def test_bad_queries(server):
    exp = experiment_id(server, PAGING_EXPERIMENT)
    route = f"experiments/{exp}/runs"
    assert server.get(route, params={"order_by": "metrics.acc; DROP TABLE runs"}).status_code == 400
    assert server.get(route, params={"max_results": 0}).status_code == 400
    assert server.get(route, params={"max_results": "lots"}).status_code == 400
    bad_filter = server.get(route, params={"filter": "metrics.acc <<< 1"})
    assert bad_filter.status_code == 400 and "\n" not in bad_filter.json()["error"]
    assert bad_filter.json()["error"].startswith("filter 'metrics.acc <<< 1': Invalid comparator")
    assert server.get(route, params={"kind": "steps"}).status_code == 400
    assert server.get("experiments/no'quote/runs").status_code == 400


def test_pipeline_run_detail_with_children_and_history(server, runs):
    answer = server.get(f"mlflow-runs/{runs.base['mlflow_run_id']}")
    assert answer.status_code == 200, answer.text
    detail = answer.json()
    assert detail["run"]["run_id"] == runs.base["mlflow_run_id"]
    # the server answers in domain words: the client never reads MLflow's tag names
    run = detail["run"]
    assert run["status"] == "succeeded" and run["kind"] == "pipeline"
    assert run["pipeline_run"] == runs.base["run_id"]
    assert run["name"] == "pipe"  # the notebook's own values: its name alone
    children = {c["step"]: c for c in detail["children"]}
    assert set(children) == {"load", "train", "evaluate"}
    assert {c["kind"] for c in children.values()} == {"step"}
    assert {c["status"] for c in children.values()} == {"done"}
    assert children["load"]["artifacts"]["df"] == {"serializer": "arrow"}
    assert children["train"]["pipeline_run"] == runs.base["run_id"]
    assert children["evaluate"]["metrics"]["r2"] == pytest.approx(runs.base["metrics"]["r2"])
    for key, points in detail["history"].items():
        assert key in detail["run"]["metrics"]
        assert all(len(p) == 2 for p in points)
    pipe = experiment_id(server, "pipe")
    assert detail["run"]["experiment_id"] == pipe
    # The runs table lists the pipeline runs of a real run, without their step runs.
    top = server.get(f"experiments/{pipe}/runs").json()["runs"]
    assert runs.base["mlflow_run_id"] in {r["run_id"] for r in top}
    assert not any("mlflow.parentRunId" in r["tags"] for r in top)
    assert not [c for c in detail["children"] if "nb2pipe.kind" in c["tags"]]
    assert server.get("mlflow-runs/0123456789abcdef0123456789abcdef").status_code == 404
