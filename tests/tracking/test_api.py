"""The Python API: journal lines inside a pipeline step, batched MLflow writes interactively."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import jupyter_mlops
from jupyter_mlops.tracking import journal
from jupyter_mlops.tracking.session import SESSION


@pytest.fixture
def in_step(tmp_path: Path, monkeypatch) -> Path:
    run_dir = tmp_path / "runs" / "r1"
    (run_dir / "train").mkdir(parents=True)
    monkeypatch.setenv("NB2PIPE_RUN_DIR", str(run_dir))
    monkeypatch.setenv("NB2PIPE_STEP", "train")
    return run_dir / "train"


def test_in_a_step_calls_append_journal_lines(in_step: Path, tmp_path: Path):
    jupyter_mlops.log_params({"lr": 0.1}, depth=3)
    for i in range(3):
        jupyter_mlops.log_metrics(loss=1 / (i + 1), step=i)
    with pytest.warns(UserWarning, match="metric 'label' skipped"):
        jupyter_mlops.log_metrics({"acc": 0.9, "label": "not a number"})
    (tmp_path / "plot.txt").write_text("a plot")
    jupyter_mlops.log_artifact(tmp_path / "plot.txt", "figures")
    with jupyter_mlops.start_run("ignored", tags={"team": "ml"}) as run:
        assert run.id is None  # the step's run is created when the pipeline is logged

    lines = (in_step / "tracking.jsonl").read_text().splitlines()
    assert all(json.loads(line)["kind"] for line in lines)
    record = journal.read(in_step)
    assert record.params == {"lr": "0.1", "depth": "3"}
    assert [(m.key, m.value, m.step) for m in record.metrics] == [
        ("loss", 1.0, 0),
        ("loss", 0.5, 1),
        ("loss", 1 / 3, 2),
        ("acc", 0.9, 0),
    ]
    assert record.tags == {"team": "ml"}
    [(copy, artifact_path)] = record.artifacts
    assert copy.read_text() == "a plot" and artifact_path == "figures"
    assert copy.is_relative_to(in_step)  # the run directory is self-contained


def test_a_torn_last_line_is_ignored(in_step: Path):
    jupyter_mlops.log_metrics(a=1)
    with open(in_step / "tracking.jsonl", "a") as f:
        f.write('{"kind": "metrics", "val')  # a kernel killed mid-write
    assert [m.key for m in journal.read(in_step).metrics] == ["a"]


def test_importing_the_api_does_not_import_mlflow():
    code = (
        "import sys, jupyter_mlops, jupyter_mlops.magics, jupyter_mlops.tracking.observer\n"
        "jupyter_mlops.log_metrics(x=1)  # inside a step: journal only\n"
        "assert 'mlflow' not in sys.modules, 'mlflow imported'\n"
    )
    env_step = {"NB2PIPE_STEP": "s", "NB2PIPE_RUN_DIR": "/tmp/jupyter-mlops-test-run"}
    import os

    done = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **env_step}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_the_package_imports_its_functions_when_first_used():
    # The CLI's tracker and the detached sync import jupyter_mlops.tracking: they must not pay
    # for drift, validation, the gate or serving; every public name still works.
    code = (
        "import sys, jupyter_mlops.tracking.observer\n"
        "later = ['jupyter_mlops.data.drift', 'jupyter_mlops.data.validation',\n"
        "         'jupyter_mlops.registry.promote', 'jupyter_mlops.serving.monitoring',\n"
        "         'jupyter_mlops.tracking.api']\n"
        "assert not [m for m in later if m in sys.modules], [m for m in later if m in sys.modules]\n"
        "import jupyter_mlops\n"
        "from jupyter_mlops import drift_report, log_metrics\n"
        "assert all(callable(getattr(jupyter_mlops, n)) for n in jupyter_mlops.__all__)\n"
        "assert set(jupyter_mlops.__all__) <= set(dir(jupyter_mlops))\n"
        "try:\n"
        "    jupyter_mlops.no_such_function\n"
        "except AttributeError as e:\n"
        "    assert 'no_such_function' in str(e)\n"
        "else:\n"
        "    raise AssertionError('no AttributeError')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_interactive_metrics_go_in_one_batch(tracking_uri: str, client, unique: str, monkeypatch):
    from mlflow.tracking import MlflowClient

    calls = []
    original = MlflowClient.log_batch

    def counting(self, run_id, metrics=(), params=(), tags=(), **kw):
        calls.append((len(metrics), len(params), len(tags)))
        return original(self, run_id, metrics=metrics, params=params, tags=tags, **kw)

    monkeypatch.setattr(MlflowClient, "log_batch", counting)
    jupyter_mlops.set_experiment(unique)
    for i in range(999):
        jupyter_mlops.log_metrics(loss=1.0 / (i + 1), step=i)
    assert calls == []  # buffered: nothing sent yet
    jupyter_mlops.log_metrics(loss=0.0001, step=999)  # the 1,000th fills a batch
    assert calls == [(1000, 0, 0)]
    jupyter_mlops.log_metrics(acc=0.5)
    jupyter_mlops.log_params(lr=0.01)
    jupyter_mlops.flush()
    assert calls[1:] == [(1, 1, 0)]

    run_id = SESSION.auto.id
    history = client.get_metric_history(run_id, "loss")
    assert len(history) == 1000
    assert sorted(m.step for m in history) == list(range(1000))
    run = client.get_run(run_id)
    assert run.data.params == {"lr": "0.01"}
    assert run.data.metrics["acc"] == 0.5
    assert client.get_experiment(run.info.experiment_id).name == unique


def test_start_run_nests_and_ends(tracking_uri: str, client, unique: str):
    jupyter_mlops.set_experiment(unique)
    with jupyter_mlops.start_run("outer") as outer:
        jupyter_mlops.log_params(model="forest")
        with jupyter_mlops.start_run("inner") as inner:
            jupyter_mlops.log_metrics(f1=0.8)
    parent, child = client.get_run(outer.id), client.get_run(inner.id)
    assert parent.info.status == child.info.status == "FINISHED"
    assert child.data.tags["mlflow.parentRunId"] == outer.id
    assert parent.data.params == {"model": "forest"} and child.data.metrics == {"f1": 0.8}
    assert parent.data.tags["mlflow.user"]
    with pytest.raises(ZeroDivisionError):
        with jupyter_mlops.start_run("broken") as broken:
            jupyter_mlops.log_metrics(x=1)
            1 / 0  # noqa: B018
    assert client.get_run(broken.id).info.status == "FAILED"

    # the latest top-level runs: a nested run is not listed beside its parent
    runs = jupyter_mlops.recent_runs(5)
    assert [r["name"] for r in runs][:2] == ["broken", "outer"]
    assert runs[1]["run_id"] == outer.id and runs[1]["params"] == {"model": "forest"}


def test_log_artifact_interactively(tracking_uri: str, client, unique: str, tmp_path: Path):
    jupyter_mlops.set_experiment(unique)
    (tmp_path / "report.md").write_text("# report")
    with jupyter_mlops.start_run("with-file") as run:
        jupyter_mlops.log_artifact(tmp_path / "report.md", "reports")
    assert [a.path for a in client.list_artifacts(run.id, "reports")] == ["reports/report.md"]


def test_a_changed_parameter_warns_instead_of_failing(tracking_uri: str, unique: str):
    jupyter_mlops.set_experiment(unique)
    jupyter_mlops.log_params(lr=0.1)
    jupyter_mlops.flush()
    jupyter_mlops.log_params(lr=0.2)
    with pytest.warns(UserWarning, match="'lr' was already logged"):
        jupyter_mlops.flush()
