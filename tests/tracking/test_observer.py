"""Pipeline runs tracked by `MlflowTracker`: real runner, real kernels, both stores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from support.mlflow_server import code, markdown, wait_for, write_notebook

from jupyter_mlops.tracking import observer as tracking
from jupyter_mlops.tracking.observer import MlflowTracker
from nb2pipe import __version__ as nb2pipe_version
from nb2pipe.runner import load_pipeline, run_pipeline

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow  # every test here starts kernels


def tiny_notebook(folder: Path) -> Path:
    return write_notebook(
        folder / "tiny.ipynb",
        markdown("# Tiny pipeline\n\nDoubles numbers, to test tracking."),
        code("alpha = 0.5\nrows = 20", "parameters"),
        code("import pandas as pd\nimport jupyter_mlops", "imports"),
        code(
            "frame = pd.DataFrame({'x': range(rows), 'y': [v * 2.0 for v in range(rows)]})",
            "step:load",
        ),
        code(
            "total = float(frame.y.sum() * alpha)\n"
            "for i in range(5):\n"
            "    jupyter_mlops.log_metrics(loss=1.0 / (i + 1), step=i)\n"
            "jupyter_mlops.log_params(optimizer='sgd')",
            "step:train",
        ),
        code("score = total / 100", "metrics"),
    )


def git_repo(folder: Path) -> str:
    """Make `folder` a git repository with everything committed; return the commit."""

    def git(*args: str) -> str:
        return subprocess.run(
            [
                "git",
                "-C",
                str(folder),
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.org",
                *args,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "notebook")
    return git("rev-parse", "HEAD")


def children(client, run) -> dict:
    found = client.search_runs(
        [run.info.experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'"
    )
    return {r.info.run_name: r for r in found}


def test_a_pipeline_run_is_one_run_with_a_nested_run_per_step(
    tracking_uri: str, client, unique: str, tmp_path: Path
):
    notebook = tiny_notebook(tmp_path)
    commit = git_repo(tmp_path)
    tracker = MlflowTracker(experiment=unique)
    result = run_pipeline(
        *load_pipeline(notebook),
        workspace=tmp_path / ".nb2pipe",
        params={"rows": 10},
        observers=[tracker],
    )
    assert result.ok, result.failure()

    info = json.loads((result.run_dir / "run.json").read_text())
    assert info["mlflow_run_id"] == tracker.mlflow_run_id
    parent = client.get_run(tracker.mlflow_run_id)
    assert client.get_experiment(parent.info.experiment_id).name == unique
    tags = parent.data.tags
    assert tags["mlflow.source.git.commit"] == commit
    assert tags["nb2pipe.git_dirty"] == "false"
    assert tags["nb2pipe.version"] == nb2pipe_version
    assert tags["mlflow.user"] and tags["nb2pipe.host"]
    assert tags["nb2pipe.run_id"] == result.run_id
    assert tags["nb2pipe.kind"] == "pipeline"  # what the Experiments panel searches for
    assert tags["mlflow.note.content"].startswith("# Tiny pipeline")
    assert parent.data.params == {"alpha": "0.5", "rows": "10"}
    assert parent.data.metrics["score"] == pytest.approx(0.45)
    assert parent.info.status == "FINISHED"
    assert parent.info.end_time - parent.info.start_time > 0
    assert [a.path for a in client.list_artifacts(parent.info.run_id)] == ["pipeline.yaml"]

    steps = children(client, parent)
    assert set(steps) == {"load", "train"}
    load, train = steps["load"], steps["train"]
    assert info["mlflow_step_runs"] == {"load": load.info.run_id, "train": train.info.run_id}
    for name, run in steps.items():
        meta = json.loads((result.run_dir / name / "meta.json").read_text())
        assert run.info.status == "FINISHED"
        assert run.data.tags["nb2pipe.fingerprint"] == meta["fingerprint"]
        assert run.data.tags["nb2pipe.cache_hit"] == "false"
        assert run.data.tags["nb2pipe.status"] == "done"
        assert "nb2pipe.kind" not in run.data.tags  # only pipeline runs carry it
        assert run.data.tags["mlflow.source.git.commit"] == commit
        assert run.info.start_time == int(meta["start"] * 1000)
        assert run.info.end_time == int(meta["end"] * 1000)
        assert run.data.metrics["nb2pipe.duration_s"] == pytest.approx(meta["duration"])
        logged = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"notebook.ipynb", "notebook.html", "log.txt", "manifest.json"} <= logged

    # artifact pointers and hashes, from the step's manifest
    manifest = json.loads((result.run_dir / "load/artifacts/manifest.json").read_text())
    sha = manifest["artifacts"]["frame"]["sha256"]
    frame_file = result.run_dir / "load/artifacts/frame.arrow"
    assert load.data.tags["nb2pipe.artifact.frame.uri"] == frame_file.resolve().as_uri()
    assert load.data.tags["nb2pipe.artifact.frame.sha256"] == sha
    assert train.data.tags["nb2pipe.input.load.frame.sha256"] == sha
    assert load.data.params == {"rows": "10"} and train.data.params["alpha"] == "0.5"

    # the DataFrame as a dataset input, produced by `load` and read by `train`
    for run, context in ((load, "output"), (train, "input")):
        [dataset_input] = run.inputs.dataset_inputs
        dataset = dataset_input.dataset
        assert dataset.name == "load.frame"
        assert dataset.digest == sha[:36]
        input_tags = {t.key: t.value for t in dataset_input.tags}
        assert input_tags["nb2pipe.sha256"] == sha
        assert input_tags["mlflow.data.context"] == context
        assert json.loads(dataset.profile)["num_rows"] == 10
        columns = json.loads(dataset.schema)["mlflow_colspec"]
        assert [(c["name"], c["type"]) for c in columns] == [("x", "long"), ("y", "double")]

    # metrics: the `metrics` cell's values, and what the step logged through the API
    assert train.data.metrics["score"] == pytest.approx(0.45)
    assert train.data.params["optimizer"] == "sgd"
    history = client.get_metric_history(train.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(i, 1.0 / (i + 1)) for i in range(5)]
    executed = client.download_artifacts(train.info.run_id, "notebook.ipynb", str(tmp_path))
    assert "jupyter_mlops.log_metrics" in Path(executed).read_text()
    # the executed notebook rendered by nbconvert: outputs included, nothing fetched or run
    page = client.download_artifacts(train.info.run_id, "notebook.html", str(tmp_path / "html"))
    text = Path(page).read_text()
    assert f"<title>train · {result.run_id}</title>" in text
    assert "log_metrics" in text and "<script" not in text


def test_a_run_on_a_dask_cluster_with_s3_is_tracked_as_a_local_one(
    dask_cluster, s3_store, unique: str, tmp_path: Path, monkeypatch
):
    """The steps' own logging (tracking.jsonl, written on the workers) and the run's events
    reach MLflow from the coordinator, as after a local run."""
    from mlflow.tracking import MlflowClient
    from support.dask_cluster import workspace_url

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # the workers' kernels reach this file too
    notebook = tiny_notebook(tmp_path)
    tracker = MlflowTracker(experiment=unique)
    result = run_pipeline(
        *load_pipeline(notebook),
        workspace=workspace_url(),
        params={"rows": 10},
        observers=[tracker],
        isolation=dask_cluster.address,
    )
    assert result.ok, result.failure()

    client = MlflowClient(uri)
    parent = client.get_run(tracker.mlflow_run_id)
    assert parent.data.metrics["score"] == pytest.approx(0.45)
    steps = children(client, parent)
    assert set(steps) == {"load", "train"}
    train = steps["train"]
    assert train.data.params["optimizer"] == "sgd"
    history = client.get_metric_history(train.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(i, 1.0 / (i + 1)) for i in range(5)]
    for name, run in steps.items():
        meta = json.loads((result.run_dir / name / "meta.json").read_text())
        assert meta["worker"] in dask_cluster.worker_addresses
        assert run.data.tags["nb2pipe.fingerprint"] == meta["fingerprint"]


RERUN = """
import json, sys, time
from pathlib import Path
from nb2pipe.runner import load_pipeline, run_pipeline
from jupyter_mlops.tracking.observer import MlflowTracker

notebook, workspace, uri, experiment = sys.argv[1:]
tracker = MlflowTracker(tracking_uri=uri, experiment=experiment, detach=True)
start = time.perf_counter()
result = run_pipeline(*load_pipeline(notebook), workspace=Path(workspace), observers=[tracker])
elapsed = time.perf_counter() - start
print(json.dumps({
    "statuses": sorted({s.status for s in result.steps.values()}),
    "mlflow_imported": "mlflow" in sys.modules,
    "elapsed": elapsed,
    "run_dir": str(result.run_dir),
    "detached": tracker.sync_process is not None,
}))
"""


def test_a_fully_cached_rerun_never_imports_mlflow_and_is_logged_by_a_detached_process(
    tracking_uri: str, client, unique: str, tmp_path: Path
):
    notebook = tiny_notebook(tmp_path)
    workspace = tmp_path / ".nb2pipe"
    first = run_pipeline(
        *load_pipeline(notebook), workspace=workspace, observers=[MlflowTracker(experiment=unique)]
    )
    assert first.ok

    done = subprocess.run(
        [sys.executable, "-c", RERUN, str(notebook), str(workspace), tracking_uri, unique],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["statuses"] == ["cached"]
    assert report["detached"] and not report["mlflow_imported"]

    run_json = Path(report["run_dir"]) / "run.json"
    run_id = wait_for(lambda: json.loads(run_json.read_text()).get("mlflow_run_id"), 120)
    parent = client.get_run(run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["score"] == pytest.approx(1.9)  # rows=20: sum(2v)·0.5/100
    for run in children(client, parent).values():
        assert run.data.tags["nb2pipe.cache_hit"] == "true"
        assert run.data.tags["nb2pipe.status"] == "cached"
        assert run.data.tags["nb2pipe.cached_from"] == first.run_id
        # the executed notebook was logged with the run that made it
        assert "notebook.ipynb" not in {a.path for a in client.list_artifacts(run.info.run_id)}


def parallel_notebook(folder: Path) -> Path:
    return write_notebook(
        folder / "parallel.ipynb",
        code("n = 200", "parameters"),
        code("import jupyter_mlops", "imports"),
        code(
            "for i in range(n):\n    jupyter_mlops.log_metrics({f'a_{i}': i})\na_done = n",
            "step:branch_a",
        ),
        code(
            "for i in range(n):\n    jupyter_mlops.log_metrics({f'b_{i}': i})\nb_done = n",
            "step:branch_b",
        ),
        code("total = a_done + b_done", "step:join"),
    )


def test_parallel_steps_lose_no_metrics(tracking_uri: str, client, unique: str, tmp_path: Path):
    notebook = parallel_notebook(tmp_path)
    tracker = MlflowTracker(experiment=unique)
    result = run_pipeline(
        *load_pipeline(notebook),
        workspace=tmp_path / ".nb2pipe",
        max_parallel=2,
        observers=[tracker],
    )
    assert result.ok, result.failure()
    steps = children(client, client.get_run(tracker.mlflow_run_id))
    for branch in ("a", "b"):
        metrics = steps[f"branch_{branch}"].data.metrics
        logged = {k: v for k, v in metrics.items() if not k.startswith("nb2pipe.")}
        assert logged == {f"{branch}_{i}": float(i) for i in range(200)}
    assert set(steps) == {"branch_a", "branch_b", "join"}


def test_a_failed_step_fails_its_run_and_skips_the_rest(
    tracking_uri: str, client, unique: str, tmp_path: Path
):
    notebook = write_notebook(
        tmp_path / "broken.ipynb",
        code("x = 1", "step:first"),
        code("y = x / 0", "step:second"),
        code("z = y + 1", "step:third"),
    )
    tracker = MlflowTracker(experiment=unique)
    result = run_pipeline(
        *load_pipeline(notebook), workspace=tmp_path / ".nb2pipe", observers=[tracker]
    )
    assert result.status == "failed"
    parent = client.get_run(tracker.mlflow_run_id)
    assert parent.info.status == "FAILED"
    steps = children(client, parent)
    assert steps["first"].info.status == "FINISHED"
    assert steps["second"].info.status == "FAILED"
    assert "ZeroDivisionError" in steps["second"].data.tags["nb2pipe.error"]
    assert steps["second"].data.tags["nb2pipe.error_cell"] == "2"
    assert steps["third"].info.status == "KILLED"
    assert steps["third"].data.tags["nb2pipe.status"] == "skipped"


def test_sync_command_is_idempotent_and_reports_bad_input_in_one_line(
    tracking_uri: str, client, unique: str, tmp_path: Path
):
    notebook = write_notebook(tmp_path / "one.ipynb", code("x = 1", "step:only"))
    tracker = MlflowTracker(experiment=unique)
    result = run_pipeline(
        *load_pipeline(notebook), workspace=tmp_path / ".nb2pipe", observers=[tracker]
    )

    def sync(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "jupyter_mlops.tracking.observer", "sync", *args],
            capture_output=True,
            text=True,
            env={**os.environ, "MLFLOW_EXPERIMENT_NAME": unique},
        )

    again = sync(str(result.run_dir))
    assert again.returncode == 0, again.stderr
    assert tracker.mlflow_run_id in again.stdout  # already logged to this store: not twice
    # --force checks every step against the store again, and still makes no second run
    forced = sync(str(result.run_dir), "--force")
    assert forced.returncode == 0, forced.stderr
    assert json.loads((result.run_dir / "run.json").read_text())["mlflow_run_id"] == (
        tracker.mlflow_run_id
    )
    parent = client.get_run(tracker.mlflow_run_id)
    assert parent.info.status == "FINISHED"
    logged = client.search_runs(
        [parent.info.experiment_id], f"tags.`nb2pipe.run_id` = '{result.run_id}'"
    )
    assert len(logged) == 2  # the pipeline and its one step

    bad = sync(str(tmp_path))
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0
    assert bad.stderr.startswith("error: ") and "not an nb2pipe run directory" in bad.stderr


def test_the_cli_finds_the_tracker_through_its_entry_point(monkeypatch):
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    value = pyproject["project"]["entry-points"]["nb2pipe.observers"]["mlflow"]
    factory = EntryPoint("mlflow", value, "nb2pipe.observers").load()
    assert factory is tracking.observer
    assert isinstance(factory(), MlflowTracker)
    monkeypatch.setenv("NB2PIPE_NO_TRACKING", "1")
    assert factory() is None


def test_nothing_is_logged_while_steps_run_and_the_run_says_so_until_it_is_logged_once(
    tracking_uri: str, client, unique: str, tmp_path: Path
):
    """The user's wait ends with the last step: no MLflow run exists while steps run; then a
    detached process logs the run, once, and until it has, the run says it is not yet logged
    (run.json, the CLI's `nb2pipe status`)."""
    import contextlib

    from jupyter_mlops.tracking.filelock import locked
    from jupyter_mlops.tracking.sync import LOCK, sync_run

    notebook = write_notebook(
        tmp_path / "later.ipynb",
        code("x = 1", "step:first"),
        code("y = x + 1", "step:second"),
    )
    tracker = MlflowTracker(experiment=unique, detach=True)
    logged_while_running: list = []
    hold = contextlib.ExitStack()

    def look(event):  # runs in the scheduling thread, before the tracker hears the event
        if event.kind == "step_started" and event.step == "second":
            experiment = client.get_experiment_by_name(unique)
            if experiment is not None:
                logged_while_running.extend(client.search_runs([experiment.experiment_id]))
        elif event.kind == "run_finished":  # keep the detached process waiting for a moment
            hold.enter_context(locked(Path(event.data["result"].run_dir) / LOCK))

    with hold:
        result = run_pipeline(
            *load_pipeline(notebook), workspace=tmp_path / ".nb2pipe", observers=[look, tracker]
        )
        assert result.ok, result.failure()
        assert logged_while_running == []
        assert tracker.sync_process is not None and tracker.mlflow_run_id is None
        info = json.loads((result.run_dir / "run.json").read_text())
        assert info["pending"] == {
            "mlflow": "not yet logged to MLflow (a background process is logging it)"
        }
        status = subprocess.run(
            [str(Path(sys.executable).parent / "nb2pipe"), "status", str(notebook)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert status.returncode == 0, status.stderr
        assert f"latest run {result.run_id}: not yet logged to MLflow" in status.stdout

    run_id = tracker.wait(timeout=180)
    assert run_id is not None, (result.run_dir / "tracking.log").read_text()
    info = json.loads((result.run_dir / "run.json").read_text())
    assert "pending" not in info and info["mlflow_run_id"] == run_id
    assert not (result.run_dir / "tracking.pending").exists()
    assert sync_run(result.run_dir, experiment=unique) == run_id  # again: nothing new
    parent = client.get_run(run_id)
    assert parent.info.status == "FINISHED"
    assert set(children(client, parent)) == {"first", "second"}
    everything = client.search_runs(
        [parent.info.experiment_id], f"tags.`nb2pipe.run_id` = '{result.run_id}'"
    )
    assert len(everything) == 3  # the pipeline and two steps, each once


def test_the_cli_says_where_the_run_is_tracked_and_keeps_mlflows_chatter_out(
    unique: str, tmp_path: Path
):
    from support.commands import run_script

    notebook = write_notebook(
        tmp_path / "tiny.ipynb", code("x = 2", "step:only"), code("score = x / 4", "metrics")
    )
    uri = f"sqlite:///{tmp_path / 'fresh' / 'mlflow.db'}"  # a new store: MLflow creates tables
    (tmp_path / "fresh").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "NB2PIPE_"))}
    env.update(MLFLOW_TRACKING_URI=uri, MLFLOW_EXPERIMENT_NAME=unique)
    done = run_script("nb2pipe", "run", notebook, cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1] == "  metrics: score 0.5"
    # the run is handed to a detached process that logs it (main's background logging)
    assert (
        f"  MLflow (logging in the background, experiment '{unique}'): "
        f"mlflow ui --backend-store-uri {uri}"
    ) in lines
    assert lines[-1].startswith("pending: not yet logged to MLflow")
    assert "INFO" not in done.stdout + done.stderr  # "Creating initial MLflow database tables"
