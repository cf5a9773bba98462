"""Data profiles of step artifacts, and drift between two runs."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

VEGA_LITE = "https://vega.github.io/schema/vega-lite/v6.json"


def test_profile_of_a_dataframe_artifact(server, runs):
    query = {"run_id": runs.base["run_id"], "step": "load", "name": "df"}
    answer = server.get("data/profile", params=query)
    assert answer.status_code == 200, answer.text
    profile = answer.json()
    assert profile["rows"] == 200
    columns = {c["name"]: c for c in profile["columns"]}
    assert list(columns) == ["x", "colour", "y", "note"]
    assert columns["x"]["dtype"] == "float64" and columns["x"]["missing"] == 0
    assert columns["x"]["mean"] == pytest.approx(0, abs=0.3)
    assert columns["x"]["min"] < columns["x"]["mean"] < columns["x"]["max"]
    assert columns["note"]["missing"] == 20 and columns["note"]["count"] == 180
    assert columns["note"]["top"] == "ok"
    assert columns["colour"]["top"] == "red"  # 80 % red when not shifted
    assert len(profile["charts"]) == 4
    for chart in profile["charts"]:
        assert chart["$schema"] == VEGA_LITE
        assert chart["data"]["values"] and chart["mark"]["type"] == "bar"
    histogram = profile["charts"][0]
    assert sum(v["count"] for v in histogram["data"]["values"]) == 200


def test_profile_refuses_what_is_not_a_table(server, runs):
    query = {"run_id": runs.base["run_id"], "step": "train", "name": "model"}
    answer = server.get("data/profile", params=query)
    assert answer.status_code == 400 and "not a DataFrame" in answer.json()["error"]
    missing = server.get("data/profile", params={**query, "name": "nothing"})
    assert missing.status_code == 404
    assert (
        server.get("data/profile", params={**query, "run_id": "20990101-000000-abcdef"}).status_code
        == 404
    )


def test_drift_between_two_runs(server, runs):
    query = {
        "name": "df",
        "reference": f"{runs.base['run_id']}:load",
        "current": f"{runs.shifted['run_id']}:load",
    }
    answer = server.get("data/drift", params=query)
    assert answer.status_code == 200, answer.text
    drift = answer.json()
    features = {f["name"]: f for f in drift["features"]}
    assert features["x"]["test"] == "ks" and features["x"]["drifted"]
    assert features["x"]["p_value"] < 1e-6 and features["x"]["psi"] > 1
    assert features["colour"]["test"] == "chi2" and features["colour"]["drifted"]
    assert not features["note"]["drifted"]  # the same pattern of missing notes in both
    assert drift["drifted"] is True
    assert drift["chart"]["$schema"] == VEGA_LITE
    assert {v["feature"] for v in drift["chart"]["data"]["values"]} == set(features)
    assert len(drift["charts"]) == 4


def test_no_drift_against_itself(server, runs):
    same = f"{runs.base['run_id']}:load"
    drift = server.get("data/drift", params={"name": "df", "reference": same, "current": same})
    assert drift.status_code == 200, drift.text
    assert drift.json()["drifted"] is False
    assert all(f["psi"] == pytest.approx(0) for f in drift.json()["features"])


def test_bad_drift_queries(server, runs):
    base = f"{runs.base['run_id']}:load"
    for query in (
        {"name": "df", "reference": runs.base["run_id"], "current": base},
        {"name": "df", "reference": base, "current": base, "alpha": "2"},
        {"name": "1df", "reference": base, "current": base},
    ):
        assert server.get("data/drift", params=query).status_code == 400, query
