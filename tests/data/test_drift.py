"""Drift per feature: shifted data detected, unshifted not flagged (fixed seeds); the report."""

from __future__ import annotations

import json
import re

import pytest
from support.project import frame

from jupyter_mlops.data.drift import DriftReport, drift_report
from jupyter_mlops.data.validation import DataSchemaError
from jupyter_mlops.serving.prediction_log import PredictionLog

REFERENCE = frame(1000, seed=1)


@pytest.mark.parametrize("seed", [2, 3, 4, 5, 6])
def test_unshifted_data_is_not_flagged(seed):
    report = drift_report(REFERENCE, frame(500, seed=seed))
    assert not report.drifted, report.to_frame()
    assert report.drifted_features == [] and report.share == 0.0
    assert report.summary() == "no drift in 3 features (500 rows vs 1000 reference rows)"


def test_a_shifted_numeric_feature_is_detected():
    report = drift_report(REFERENCE, frame(500, seed=7, shift=0.8))
    assert report.drifted_features == ["x"]
    x = report.to_frame().loc["x"]
    assert x["test"] == "ks" and x["p_value"] < 1e-10 and x["psi"] > 0.25


def test_a_shifted_category_mix_is_detected():
    report = drift_report(REFERENCE, frame(500, seed=8, mix=(0.2, 0.3, 0.5)))
    assert report.drifted_features == ["colour"]
    assert report.to_frame().loc["colour", "test"] == "chi2"
    assert report.summary().startswith("1 of 3 features drifted: colour")


def test_a_significant_but_negligible_shift_is_not_drift():
    """Large samples make the test reject tiny shifts; PSI says they do not matter."""
    big_reference, big_current = frame(20000, seed=1), frame(20000, seed=9, shift=0.05)
    report = drift_report(big_reference, big_current)
    x = report.features[0]
    assert x.p_value < 0.05 and x.psi < 0.1 and not x.drifted
    strict = drift_report(big_reference, big_current, psi_threshold=0.0)
    assert strict.drifted_features == ["x"]


def test_report_as_frame_html_and_notebook_output():
    report = drift_report(REFERENCE, frame(500, seed=7, shift=0.8))
    table = report.to_frame()
    assert list(table.columns) == ["test", "statistic", "p_value", "psi", "drifted"]
    assert list(table.index) == ["x", "y", "colour"]
    cell = report._repr_html_()
    assert "<table" in cell and "<script" not in cell and "drifted" in cell
    page = report.to_html()
    assert page.startswith("<!doctype html>") and "<td>x</td>" in page
    # Self-contained: the charts are drawn as SVG, nothing is fetched.
    assert page.count("<svg ") == 4 and re.findall(r"(?:src|href)=", page) == []
    specs = json.loads(
        re.search(r'id="drift-specs">(.*?)</script>', page, re.S).group(1).replace("<\\/", "</")
    )
    assert specs[0]["title"] == "Drift per feature (PSI)"
    assert len(specs) == 4 and all("vega-lite" in s["$schema"] for s in specs)
    colours = {v["feature"]: v["drifted"] for v in specs[0]["data"]["values"]}
    assert colours == {"x": "drifted", "y": "stable", "colour": "stable"}
    assert json.loads(json.dumps(report.to_dict(), default=str))["drifted"] is True


def test_the_current_data_can_be_a_prediction_log(tmp_path):
    log = PredictionLog(tmp_path / "predictions.jsonl")
    shifted = frame(300, seed=7, shift=0.8)
    log.append(
        [
            {
                "id": f"r-{i}",
                "ts": 0.0,
                "model": "m",
                "version": "1",
                "inputs": row,
                "prediction": 0,
            }
            for i, row in enumerate(shifted.to_dict(orient="records"))
        ]
    )
    reference = tmp_path / "reference.parquet"
    REFERENCE.to_parquet(reference)
    report = drift_report(reference, log.path)
    assert report.rows == {"reference": 1000, "current": 300}
    assert report.drifted_features == ["x"]


def test_logged_to_mlflow_as_run_artifacts(tracking_uri, tmp_path):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    run = client.create_run(client.create_experiment("drift", str(tmp_path / "artifacts")))
    report = drift_report(REFERENCE, frame(500, seed=7, shift=0.8))
    report.log_to_mlflow(run.info.run_id)
    files = sorted(a.path for a in client.list_artifacts(run.info.run_id, "drift"))
    assert files == ["drift/drift_report.html", "drift/drift_report.json"]
    metrics = client.get_run(run.info.run_id).data.metrics
    assert metrics == {"drift_share": pytest.approx(1 / 3), "drifted_features": 1.0}


def test_bad_inputs_are_one_line_errors(tmp_path):
    with pytest.raises(DataSchemaError, match="the current data has no rows"):
        drift_report(REFERENCE, REFERENCE.iloc[:0])
    with pytest.raises(DataSchemaError, match="no such data file"):
        drift_report(REFERENCE, tmp_path / "missing.csv")
    with pytest.raises(DataSchemaError, match=r"columns not in both datasets: \['nope'\]"):
        drift_report(REFERENCE, REFERENCE, columns=["nope"])
    with pytest.raises(DataSchemaError, match="not a DataFrame or a data file"):
        drift_report(REFERENCE, 42)
    assert isinstance(drift_report(REFERENCE, REFERENCE, columns=["x"]), DriftReport)


def test_large_datasets_are_compared_on_samples():
    """Above SAMPLE_ROWS a side, both datasets are sampled (fixed seed): the result says so,
    and a real shift is still found while the same distribution is not flagged."""
    from jupyter_mlops.data.stats import SAMPLE_ROWS

    big = SAMPLE_ROWS + 50_000
    report = drift_report(frame(big, seed=1), frame(big, seed=2, shift=0.5))
    assert report.sampled == {"reference": SAMPLE_ROWS, "current": SAMPLE_ROWS}
    assert report.drifted_features == ["x"]
    assert f"compared on samples of {SAMPLE_ROWS:,} rows" in report.summary()
    again = drift_report(frame(big, seed=1), frame(big, seed=2, shift=0.5))
    assert again.to_frame().equals(report.to_frame())  # the same samples every time
    assert not drift_report(frame(big, seed=1), frame(big, seed=3)).drifted
