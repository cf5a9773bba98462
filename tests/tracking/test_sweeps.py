"""A sweep in MLflow: one parent run, one nested pipeline run per trial, the best tagged; the
Experiments listing shows it as one row; data files read are dataset inputs with their digest.
Real runner, real kernels, both stores."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from support.mlflow_server import code, write_notebook

from jupyter_mlops.tracking import read
from jupyter_mlops.tracking.datasets import SHA256_TAG
from jupyter_mlops.tracking.observer import MlflowTracker
from nb2pipe.runner import load_pipeline, run_pipeline
from nb2pipe.sweep import run_sweep

pytestmark = pytest.mark.slow  # every test here starts kernels


def swept_notebook(folder: Path) -> Path:
    (folder / "data.csv").write_text("x\n1\n2\n3\n")
    return write_notebook(
        folder / "swept.ipynb",
        code("alpha = 0.5\nshift = 1", "parameters"),
        code("import pandas as pd", "imports"),
        code("frame = pd.read_csv('data.csv')", "step:load"),
        code("score = float((frame.x * alpha).sum() + shift)", "step:train", "metrics"),
    )


def children(client, run_id: str, experiment_id: str) -> list:
    return client.search_runs([experiment_id], f"tags.mlflow.parentRunId = '{run_id}'")


def test_a_sweep_is_one_run_with_a_nested_pipeline_run_per_trial_and_the_best_tagged(
    tracking_uri: str, client, unique: str, tmp_path: Path
):
    notebook = swept_notebook(tmp_path)
    tracker = MlflowTracker(experiment=unique)
    sweep = run_sweep(
        *load_pipeline(notebook),
        {"alpha": [0.5, 2.0, 1.0]},
        metric="score",
        workspace=tmp_path / ".nb2pipe",
        observers=[tracker],
        max_parallel=2,
    )
    assert sweep.status == "succeeded" and sweep.best.params == {"alpha": 2.0}
    parent = client.get_run(tracker.mlflow_run_id)
    tags = parent.data.tags
    assert tags["nb2pipe.kind"] == "sweep" and tags["nb2pipe.sweep_id"] == sweep.id
    assert tags["nb2pipe.best_trial"] == "1" and tags["nb2pipe.best_run_id"] == sweep.best.run_id
    assert parent.data.params == {
        "sweep.mode": "grid", "sweep.metric": "score", "sweep.direction": "max",
        "sweep.space.alpha": "0.5, 2.0, 1.0",
    }  # fmt: skip
    assert parent.data.metrics == {"trials": 3.0, "best_score": 13.0}
    assert parent.info.status == "FINISHED"

    trials = children(client, parent.info.run_id, parent.info.experiment_id)
    assert sorted(int(t.data.tags["nb2pipe.trial"]) for t in trials) == [0, 1, 2]
    for trial in trials:
        number = int(trial.data.tags["nb2pipe.trial"])
        assert trial.data.tags["nb2pipe.kind"] == "trial"
        assert trial.data.tags["nb2pipe.run_id"] == sweep.trials[number].run_id
        assert trial.data.params["alpha"] == str(sweep.trials[number].params["alpha"])
        assert trial.data.metrics["score"] == sweep.trials[number].value
        assert (trial.data.tags.get("nb2pipe.best") == "true") == (number == 1)
        steps = children(client, trial.info.run_id, parent.info.experiment_id)
        assert sorted(s.info.run_name for s in steps) == ["load", "train"]
        assert tags["nb2pipe.best_mlflow_run_id"] != trial.info.run_id or number == 1

    # The Experiments listing: the sweep is one row; its trials come with sweep_detail.
    page = read.list_runs(client, parent.info.experiment_id, 50, None, None, "")
    assert [r["run_id"] for r in page["runs"]] == [parent.info.run_id]
    row = page["runs"][0]  # in domain words: the client reads no tag
    assert (row["kind"], row["status"]) == ("sweep", "succeeded")
    nested = read.run_detail(client, parent.info.run_id)["children"]
    assert {(c["kind"], c["status"]) for c in nested} == {("trial", "succeeded")}
    detail = read.sweep_detail(client, parent.info.run_id)
    assert detail["metric"] == "score" and detail["direction"] == "max"
    assert detail["params"] == ["alpha"] and detail["best"] == 1 and detail["mode"] == "grid"
    assert [(t["number"], t["params"], t["value"], t["best"]) for t in detail["trials"]] == [
        (0, {"alpha": 0.5}, 4.0, False),
        (1, {"alpha": 2.0}, 13.0, True),
        (2, {"alpha": 1.0}, 7.0, False),
    ]
    for trial in detail["trials"]:  # named as the runs they are, in nb2pipe's words
        assert trial["status"] == "succeeded"
        assert trial["nb2pipe_run_id"] == sweep.trials[trial["number"]].run_id
        assert trial["name"].startswith("swept"), trial["name"]
    assert "alpha=2" in detail["trials"][1]["name"], detail["trials"][1]["name"]

    # Logging the sweep again (by hand) makes no second run of anything.
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_mlops.tracking.observer", "sync-sweep", str(sweep.path),
         "--experiment", unique],
        capture_output=True, text=True, env={**__import__("os").environ,
                                             "MLFLOW_TRACKING_URI": tracking_uri},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    everything = client.search_runs([parent.info.experiment_id], max_results=100)
    assert len(everything) == 1 + 3 + 3 * 2


def test_sweep_detail_of_a_run_that_is_not_a_sweep_is_refused(
    tracking_uri: str, client, unique: str, tmp_path: Path
):
    from jupyter_mlops.errors import TrackingError

    notebook = swept_notebook(tmp_path)
    tracker = MlflowTracker(experiment=unique)
    result = run_pipeline(
        *load_pipeline(notebook), workspace=tmp_path / ".nb2pipe", observers=[tracker]
    )
    assert result.ok
    with pytest.raises(TrackingError, match="is not a sweep"):
        read.sweep_detail(client, tracker.mlflow_run_id)


def test_data_files_a_run_read_are_dataset_inputs_with_their_sha256(
    tracking_uri: str, client, unique: str, tmp_path: Path
):
    notebook = swept_notebook(tmp_path)
    digest = hashlib.sha256((tmp_path / "data.csv").read_bytes()).hexdigest()
    tracker = MlflowTracker(experiment=unique)
    result = run_pipeline(
        *load_pipeline(notebook), workspace=tmp_path / ".nb2pipe", observers=[tracker]
    )
    assert result.ok, result.failure()
    parent = client.get_run(tracker.mlflow_run_id)
    load = [
        r
        for r in children(client, parent.info.run_id, parent.info.experiment_id)
        if r.info.run_name == "load"
    ][0]
    for run in (parent, load):
        files = [i for i in run.inputs.dataset_inputs if i.dataset.name == "data.csv"]
        assert len(files) == 1, run.inputs.dataset_inputs
        assert files[0].dataset.digest == digest[:36]
        assert {t.key: t.value for t in files[0].tags}[SHA256_TAG] == digest
        assert '"size_bytes": 8' in files[0].dataset.profile
