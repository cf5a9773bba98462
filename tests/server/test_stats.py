"""Profiles and drift statistics, and what every answer goes through (no server needed)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.data.stats import drift, profile, psi
from jupyter_mlops.server.base import ApiError, describe, plain, safe


def frame(shift: float = 0.0, rows: int = 500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1, rows),
            "kind": rng.choice(
                ["a", "b", "c"], rows, p=[0.6, 0.3, 0.1] if not shift else [0.2, 0.3, 0.5]
            ),
            "flag": rng.random(rows) < 0.5,
            "when": pd.date_range("2026-01-01", periods=rows, freq="h"),
        }
    )


def test_profile_handles_missing_infinite_and_boolean_values():
    data = frame()
    data.loc[:9, "x"] = np.nan
    data.loc[10, "x"] = np.inf
    result = profile(data)
    columns = {c["name"]: c for c in result["columns"]}
    assert columns["x"]["missing"] == 10 and columns["x"]["kind"] == "numeric"
    assert math.isfinite(columns["x"]["max"])  # the infinity is left out of the stats
    assert columns["flag"]["kind"] == "categorical" and columns["flag"]["unique"] == 2
    assert columns["when"]["kind"] == "datetime" and columns["when"]["min"].startswith("2026-01-01")
    json.dumps(plain(result), allow_nan=False)  # strict JSON


def test_psi_is_zero_for_equal_shares_and_grows_with_the_shift():
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0
    assert 0 < psi([0.5, 0.5], [0.6, 0.4]) < psi([0.5, 0.5], [0.9, 0.1])


def test_drift_finds_the_shifted_features_only():
    result = drift(frame(), frame(shift=2.0, seed=1))
    features = {f["name"]: f for f in result["features"]}
    assert features["x"]["drifted"] and features["x"]["test"] == "ks"
    assert features["kind"]["drifted"] and features["kind"]["test"] == "chi2"
    assert not features["flag"]["drifted"]
    assert features["when"]["test"] == "ks"  # datetimes compare as time values
    shuffled = frame().sample(frac=1, random_state=3)
    same = drift(frame(), shuffled)
    assert not any(f["drifted"] for f in same["features"]), same["features"]
    assert all(f["psi"] == pytest.approx(0) for f in same["features"])


def test_drift_reports_columns_present_on_one_side_only():
    result = drift(frame()[["x", "kind"]], frame()[["x", "flag"]])
    assert [f["name"] for f in result["features"]] == ["x"]
    assert result["missing_columns"] == {"reference": ["flag"], "current": ["kind"]}


def test_safe_strips_credentials_and_the_root(monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "hunter22")
    text = f"cannot reach https://ana:pw@mlflow.example/ with hunter22 for {tmp_path}/a.ipynb"
    assert safe(text, tmp_path) == "cannot reach https://mlflow.example/ with *** for a.ipynb"


def test_describe_maps_errors_to_statuses():
    from nb2pipe.errors import ArtifactError, TagError

    assert describe(ApiError(403, "no"), 500) == (403, "no")
    assert describe(TagError("bad tag", cell=3), 500) == (400, "cell 3: bad tag")
    assert describe(ArtifactError("gone"), 500)[0] == 404
    assert describe(ValueError("boom"), 500) == (500, "internal error (ValueError): boom")


def test_plain_makes_strict_json():
    value = {"a": np.float64("nan"), "b": np.int64(3), "c": [float("inf"), b"tok"]}
    assert plain(value) == {"a": None, "b": 3, "c": [None, "tok"]}


@pytest.mark.parametrize("bad", ["../x", "/etc/passwd", "~/x", "a/../../x"])
def test_resolve_refuses_escapes(tmp_path, bad):
    from jupyter_mlops.server.paths import PathRefused, resolve

    with pytest.raises(PathRefused):
        resolve(tmp_path, bad)
