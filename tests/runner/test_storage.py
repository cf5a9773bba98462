"""Run and cache folders at an fsspec URL: moto's S3 server on 127.0.0.1 as the workspace.

Published steps are whole (manifest after the artifacts it names, meta.json last), a cache
re-run from another machine's point of view (an empty local copy) is served from S3, and a
byte changed in an S3 artifact is detected and never reused.
"""

from __future__ import annotations

import shutil

import pytest
from runkit import cache_notebook, cli, code, error_lines, run, statuses, write_notebook
from support.dask_cluster import BUCKET, workspace_url

from nb2pipe.runner import events as ev
from nb2pipe.runner.storage import Storage

pytestmark = pytest.mark.slow


def _prefix(url: str) -> str:
    return url.removeprefix(f"s3://{BUCKET}/")


def test_a_run_on_s3_is_published_whole_and_served_from_the_cache_elsewhere(s3_store, tmp_path):
    notebook = cache_notebook(tmp_path)
    url = workspace_url()
    first = run(notebook, url)
    assert first.ok, first.failure()

    keys = set(s3_store.keys(BUCKET, _prefix(url)))
    run_prefix = f"{_prefix(url)}/runs/{first.run_id}"
    assert f"{run_prefix}/run.json" in keys and f"{run_prefix}/pipeline.yaml" in keys
    for step, result in first.steps.items():
        assert f"{run_prefix}/{step}/artifacts/manifest.json" in keys
        assert f"{run_prefix}/{step}/meta.json" in keys
        for item in result.artifacts.values():
            assert f"{run_prefix}/{step}/artifacts/{item['file']}" in keys
    assert sum(k.startswith(f"{_prefix(url)}/cache/") for k in keys) == len(first.steps)

    shutil.rmtree(tmp_path / ".nb2pipe")  # a teammate's machine: nothing local
    second = run(notebook, url)

    assert set(statuses(second).values()) == {"cached"}
    assert second.metrics == first.metrics
    assert all(r.cached_from == first.run_id for r in second.steps.values())


def test_a_flipped_byte_in_an_s3_artifact_is_detected_and_the_step_runs_again(s3_store, tmp_path):
    notebook = cache_notebook(tmp_path)
    url = workspace_url()
    first = run(notebook, url)
    assert first.ok, first.failure()
    file = first.steps["double"].artifacts["b"]["file"]
    key = f"{_prefix(url)}/runs/{first.run_id}/double/artifacts/{file}"
    client = s3_store.client()
    data = bytearray(client.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    data[-1] ^= 0x01
    client.put_object(Bucket=BUCKET, Key=key, Body=bytes(data))
    shutil.rmtree(tmp_path / ".nb2pipe")

    warnings = []
    second = run(
        notebook,
        url,
        observers=[lambda e: warnings.append(e) if e.kind == ev.WARNING else None],
    )

    assert statuses(second) == {
        "load": "cached",
        "double": "done",
        "total": "cached",  # the re-run made the same b: its input hash is unchanged
        "side": "cached",
    }
    assert second.metrics == first.metrics
    [warning] = [w for w in warnings if w.step == "double"]
    assert "does not match its sha256" in warning.data["message"]
    assert f"run {first.run_id}" in warning.data["message"]
    entry = Storage(url).read(f"cache/{second.steps['double'].fingerprint}")
    assert entry.decode().strip() == f"{second.run_id}/double"  # the bad entry was replaced


def test_a_workspace_in_the_project_settings_is_used(s3_store, tmp_path):
    url = workspace_url()
    (tmp_path / "pyproject.toml").write_text(f'[tool.jupyter-mlops]\nworkspace = "{url}"\n')
    notebook = write_notebook(tmp_path / "one.ipynb", code("x = 41 + 1", "step:only"))
    done = cli("run", notebook, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert any("/runs/" in k for k in s3_store.keys(BUCKET, _prefix(url)))


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("foo://x", "workspace foo://x: Protocol not known: foo"),
        ("s3://", "workspace s3://: no bucket or folder after s3://"),
        (
            "s3://no-such-bucket/x",
            "workspace s3://no-such-bucket/x: cannot write there: "
            "The specified bucket does not exist",
        ),
    ],
)
def test_a_bad_workspace_url_is_one_line(s3_store, tmp_path, url, problem):
    notebook = write_notebook(tmp_path / "one.ipynb", code("x = 1", "step:only"))
    done = cli("run", notebook, "--workspace", url, cwd=tmp_path)

    assert done.returncode == 2, done.stderr
    assert error_lines(done.stderr) == [f"error: {problem}"]
    assert not (tmp_path / ".nb2pipe").exists()  # nothing half-made


def test_a_shared_folder_url_is_published_by_rename_and_serves_the_cache(tmp_path):
    from runkit import temp_files

    shared = tmp_path / "shared"
    notebook = cache_notebook(tmp_path / "project")
    first = run(notebook, f"file://{shared}")
    assert first.ok, first.failure()
    for step in first.steps:
        assert (shared / "runs" / first.run_id / step / "artifacts" / "manifest.json").is_file()
    assert len(list((shared / "cache").iterdir())) == len(first.steps)
    assert temp_files(shared) == []  # every file renamed into place, no leftovers

    shutil.rmtree(tmp_path / "project" / ".nb2pipe")
    second = run(notebook, f"file://{shared}")
    assert set(statuses(second).values()) == {"cached"}
    assert second.metrics == first.metrics
