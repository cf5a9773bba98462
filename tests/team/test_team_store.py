"""The team's tracking store for real: `mlflow server --app-name basic-auth` with its runs and
registry in PostgreSQL and its artifacts in S3 (moto), used by `nb2pipe` exactly as a team's
CI would use it: credentials in the environment, no S3 keys on the client."""

from __future__ import annotations

import json
import shutil
import uuid

import pytest
from support.commands import error_lines, run_script
from support.notebooks import EXAMPLES
from support.servers import wait_for

pytestmark = pytest.mark.slow


def nb2pipe(*args, cwd, env):
    return run_script("nb2pipe", *args, cwd=cwd, env=env, timeout=600)


@pytest.fixture(scope="module")
def tracked(team_server, tmp_path_factory):
    """The example pipeline run once by `ci`, tracked on the team server."""
    folder = tmp_path_factory.mktemp("project")
    shutil.copyfile(
        EXAMPLES / "breast_cancer_diagnosis.ipynb", folder / "breast_cancer_diagnosis.ipynb"
    )
    done = nb2pipe(
        "run", "breast_cancer_diagnosis.ipynb", cwd=folder, env=team_server.client_env("ci")
    )
    assert done.returncode == 0, done.stderr + team_server.log_tail()
    (run_dir,) = (folder / ".nb2pipe" / "runs").iterdir()
    # `nb2pipe run` hands the run to a detached logger: it is on the server once that is done
    run_json = run_dir / "run.json"
    wait_for(lambda: json.loads(run_json.read_text()).get("mlflow_run_id"), 180)
    return folder, run_dir.name


def test_a_pipeline_run_is_tracked_in_postgres_with_artifacts_in_s3(
    team_server, postgres, s3, tracked, monkeypatch
):
    from mlflow.tracking import MlflowClient

    _, run_id = tracked
    for key, value in team_server.client_env("reader").items():
        monkeypatch.setenv(key, value)  # anyone may read it
    client = MlflowClient(team_server.url)
    experiment = client.get_experiment_by_name("breast_cancer_diagnosis").experiment_id
    runs = client.search_runs([experiment], filter_string=f"tags.`nb2pipe.run_id` = '{run_id}'")
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    steps = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert sorted(r.info.run_name for r in steps) == sorted(
        ["load", "scaled_features", "poly_features", "train", "evaluate"]
    )
    assert {r.info.status for r in steps} == {"FINISHED"}
    (evaluate,) = [r for r in steps if r.info.run_name == "evaluate"]
    assert evaluate.data.metrics["accuracy"] > 0.8
    # The runs are rows of the PostgreSQL database...
    connection = postgres.connect("mlflow")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM runs WHERE run_uuid = %s", (parent.info.run_id,))
            assert cursor.fetchone() == (1,)
    finally:
        connection.close()
    # ...and the executed step notebooks objects in the bucket, uploaded through the server.
    assert parent.info.artifact_uri.startswith("mlflow-artifacts:/")
    keys = s3.keys(team_server.bucket, "artifacts/")
    for step in steps:
        assert (
            f"artifacts/{step.info.experiment_id}/{step.info.run_id}/artifacts/notebook.ipynb"
            in keys
        )


def test_publish_promote_and_a_reader_is_refused_in_one_line(team_server, tracked):
    folder, _ = tracked
    name = f"wine-{uuid.uuid4().hex[:8]}"
    ci = team_server.client_env("ci")
    done = nb2pipe(
        "publish",
        "breast_cancer_diagnosis.ipynb",
        "--name",
        name,
        "--metric",
        "f1_macro",
        cwd=folder,
        env=ci,
    )
    assert done.returncode == 0, done.stderr + team_server.log_tail()
    assert f"published {name} version 1 (alias challenger)" in done.stdout
    # The logged model is filed under its publish run's experiment, not under Default.
    from mlflow.tracking import MlflowClient

    client = MlflowClient(team_server.url)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in ci.items():
            mp.setenv(key, value)
        run = client.get_run(client.get_model_version(name, "1").run_id)
        models = client.search_logged_models(
            experiment_ids=[run.info.experiment_id],
            filter_string=f"source_run_id = '{run.info.run_id}'",
        )
        assert len(models) == 1 and run.info.experiment_id != "0"
    done = nb2pipe("promote", name, "--metric", "f1_macro", cwd=folder, env=ci)
    assert done.returncode == 0, done.stderr
    assert f"{name} version 1 promoted to champion" in done.stdout

    reader = team_server.client_env("reader")
    refused = nb2pipe("promote", name, "--metric", "f1_macro", cwd=folder, env=reader)
    assert refused.returncode == 2
    assert error_lines(refused.stderr) == [
        f"error: permission denied: user 'reader' has read-only access to {team_server.url} "
        f"and cannot move the aliases of model '{name}' (ask a registry admin for EDIT or MANAGE)"
    ]
    assert "Traceback" not in refused.stderr
    # the very model already published: nothing to write, so a reader is told so
    same = nb2pipe(
        "publish", "breast_cancer_diagnosis.ipynb", "--name", name, cwd=folder, env=reader
    )
    assert same.returncode == 0 and "already published" in same.stdout, same.stderr
    # a new model (another C) would be a new version: a reader cannot add it
    rerun = nb2pipe("run", "breast_cancer_diagnosis.ipynb", "-p", "C", "1.0", cwd=folder, env=ci)
    assert rerun.returncode == 0, rerun.stderr
    refused = nb2pipe(
        "publish", "breast_cancer_diagnosis.ipynb", "--name", name, cwd=folder, env=reader
    )
    assert refused.returncode == 2
    assert error_lines(refused.stderr) == [
        f"error: permission denied: user 'reader' has read-only access to {team_server.url} "
        f"and cannot publish model '{name}' (ask a registry admin for EDIT or MANAGE)"
    ]
