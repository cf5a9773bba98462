"""`nb2pipe run --executor dask://…`: a real Dask cluster (a scheduler and two worker processes
on 127.0.0.1) with the workspace on moto's S3 server computes what the local runner computes,
and spreads independent steps over both workers."""

from __future__ import annotations

import json

import pytest
from runkit import EXAMPLE, cli, code, error_lines, meta, run, statuses, write_notebook
from support.dask_cluster import workspace_url
from support.servers import free_port

from nb2pipe.artifacts import load, read_manifest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def diamond(folder):
    """a → b, a → c, (b, c) → d: DataFrames, a model fitted in c, its predictions in d."""
    return write_notebook(
        folder / "diamond.ipynb",
        code("n = 80\nseed = 7", "parameters"),
        code(
            "import numpy as np\nimport pandas as pd\n"
            "from sklearn.linear_model import LinearRegression",
            "imports",
        ),
        code(
            "rng = np.random.default_rng(seed)\n"
            "frame = pd.DataFrame({'x': rng.normal(size=n), 'z': rng.normal(size=n)})\n"
            "frame['y'] = 2 * frame['x'] - frame['z'] + 0.1 * rng.normal(size=n)",
            "step:a",
        ),
        code("features = frame[['x', 'z']] * 1.5", "step:b"),
        code("model = LinearRegression().fit(frame[['x', 'z']], frame['y'])", "step:c"),
        code(
            "predictions = pd.DataFrame({'y': model.predict(features / 1.5)})\n"
            "mse = float(((predictions['y'] - frame['y']) ** 2).mean())",
            "step:d",
        ),
        code("mse", "metrics"),
    )


def hashes(result) -> dict[str, dict[str, str]]:
    """Each step's artifacts and their sha256, from its manifest."""
    found = {}
    for step in result.steps:
        manifest = read_manifest(result.run_dir, step) or {}
        found[step] = {k: v["sha256"] for k, v in manifest.get("artifacts", {}).items()}
    return found


def workers(result) -> set[str]:
    return {meta(result, step).get("worker") for step in result.steps}


def test_the_wine_example_on_two_workers_and_s3_equals_the_local_run(
    dask_cluster, s3_store, tmp_path
):
    local = run(EXAMPLE, tmp_path / "local")
    url = workspace_url()
    remote = run(EXAMPLE, url, isolation=dask_cluster.address)

    assert local.ok, local.failure()
    assert remote.ok, remote.failure()
    assert set(statuses(remote).values()) == {"done"}
    assert remote.metrics == local.metrics
    assert hashes(remote) == hashes(local)
    assert workers(remote) == dask_cluster.worker_addresses  # both workers ran steps
    info = json.loads((remote.run_dir / "run.json").read_text())
    assert info["isolation"] == "dask"
    # The run is published whole: every step's manifest and meta, and the run record.
    prefix = url.removeprefix(f"s3://{url.split('/')[2]}/")
    keys = set(s3_store.keys(url.split("/")[2], prefix))
    for step in remote.steps:
        assert f"{prefix}/runs/{remote.run_id}/{step}/artifacts/manifest.json" in keys
        assert f"{prefix}/runs/{remote.run_id}/{step}/meta.json" in keys


def test_a_diamond_runs_its_branches_on_both_workers_with_the_local_results(
    dask_cluster, s3_store, tmp_path
):
    notebook = diamond(tmp_path)
    seen: dict[str, list] = {"local": [], "remote": []}
    local = run(notebook, tmp_path / "local", observers=[seen["local"].append])
    remote = run(
        notebook, workspace_url(), isolation=dask_cluster.address, observers=[seen["remote"].append]
    )

    assert local.ok, local.failure()
    assert remote.ok, remote.failure()
    assert list(remote.steps) == ["a", "b", "c", "d"]
    assert {meta(remote, s)["worker"] for s in ("b", "c")} == dask_cluster.worker_addresses
    assert remote.metrics == local.metrics
    assert set(remote.metrics) == {"mse"}
    for step, name in [("a", "frame"), ("b", "features")]:
        assert load(remote.run_dir, step, name).equals(load(local.run_dir, step, name))
    model = load(remote.run_dir, "c", "model")
    assert list(model.coef_) == list(load(local.run_dir, "c", "model").coef_)
    assert hashes(remote) == hashes(local)
    # Observers (the terminal, MLflow, the sidebar) hear the same story from either runner.
    kinds = {k: sorted((e.kind, e.step or "") for e in events) for k, events in seen.items()}
    assert kinds["remote"] == kinds["local"]


def test_a_step_failing_on_a_worker_fails_in_one_line_naming_its_cell(
    dask_cluster, s3_store, tmp_path
):
    notebook = write_notebook(
        tmp_path / "fails.ipynb",
        code("x = 1", "step:first"),
        code("y = x / 0", "step:second"),
    )
    result = run(notebook, workspace_url(), isolation=dask_cluster.address)

    assert statuses(result) == {"first": "done", "second": "failed"}
    error = result.steps["second"].error
    assert error["ename"] == "ZeroDivisionError"
    assert error["cell"] == 2
    assert (result.run_dir / "second" / "notebook.ipynb").is_file()  # fetched for the user


def _our_kernel_plugins(cluster) -> list[str]:
    """The names of nb2pipe's warm-kernel plugins on every worker of `cluster`."""
    from distributed import Client

    def names(dask_worker):
        return [name for name in dask_worker.plugins if name.startswith("nb2pipe-kernels-")]

    with Client("tcp://" + cluster.address.removeprefix("dask://"), timeout=30) as client:
        return sorted(n for found in client.run(names).values() for n in found)


def test_steps_on_a_worker_run_in_its_warm_kernels_emptied_between_steps(
    dask_cluster, s3_store, tmp_path
):
    notebook = write_notebook(
        tmp_path / "chain.ipynb",
        code("import os", "imports"),
        code("first = os.getpid()\nleft_behind = 'from step one'", "step:one"),
        code("second = (first, os.getpid(), 'left_behind' in globals())", "step:two"),
        code("third = (second, os.getpid(), 'left_behind' in globals())", "step:three"),
        code("print(third)", "step:four"),  # reads it: three saves it
    )
    result = run(notebook, workspace_url(), isolation=dask_cluster.address)

    assert result.ok, result.failure()
    (first, second_pid, seen_in_two), third_pid, seen_in_three = load(
        result.run_dir, "three", "third"
    )
    pids = [first, second_pid, third_pid]
    # Three steps one after the other, two workers with one kernel each: a kernel ran two.
    assert len(set(pids)) < len(pids)
    assert not seen_in_two and not seen_in_three  # each step starts from an empty namespace
    # The run is over: no worker keeps its kernels.
    assert _our_kernel_plugins(dask_cluster) == []


def test_an_unreachable_scheduler_is_one_line(tmp_path):
    notebook = write_notebook(tmp_path / "one.ipynb", code("x = 1", "step:only"))
    address = f"127.0.0.1:{free_port()}"
    done = cli("run", notebook, "--executor", f"dask://{address}", cwd=tmp_path)

    assert done.returncode == 2, done.stderr
    assert error_lines(done.stderr) == [
        f"error: --executor dask://{address}: no Dask scheduler answers there (OSError)"
    ]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("spec", ["dask://", "dask://nohost", "spark://h:1"])
def test_a_malformed_executor_is_one_line(tmp_path, spec):
    notebook = write_notebook(tmp_path / "one.ipynb", code("x = 1", "step:only"))
    done = cli("run", notebook, "--executor", spec, cwd=tmp_path)

    assert done.returncode == 2, done.stderr
    [line] = error_lines(done.stderr)
    assert spec in line


def _sleeper(folder, marker):
    """One step that writes its worker's pid (the kernel's parent) to `marker`, then sleeps."""
    return write_notebook(
        folder / "sleeps.ipynb",
        code("import os\nimport time", "imports"),
        code(
            f"open({str(marker)!r}, 'w').write(str(os.getppid()))\ntime.sleep(600)\nx = 1",
            "step:sleeps",
        ),
        code("y = x + 1", "step:after"),
    )


def _when(predicate, timeout: float = 300):
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.2)


def _in_thread(function):
    import threading

    box = {}

    def target():
        try:
            box["result"] = function()
        except BaseException as e:  # handed to the test
            box["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


def test_cancelling_a_run_cancels_its_steps_on_the_cluster(dask_cluster, s3_store, tmp_path):
    import threading

    marker = tmp_path / "pid"
    notebook = _sleeper(tmp_path, marker)
    stop = threading.Event()
    thread, box = _in_thread(
        lambda: run(notebook, workspace_url(), isolation=dask_cluster.address, stop=stop)
    )
    _when(marker.exists)
    stop.set()
    thread.join(timeout=120)

    assert not thread.is_alive()
    result = box["result"]
    assert result.status == "cancelled"
    assert result.steps["sleeps"].status != "done"
    assert "after" not in result.steps


def test_a_worker_killed_under_a_step_fails_it_in_one_line(s3_store, tmp_path):
    import os
    import signal

    from support.dask_cluster import s3_env, start_cluster, stop_cluster

    env = {**os.environ, **s3_env(s3_store)}
    env["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES"] = "0"  # no re-run elsewhere
    cluster = start_cluster(tmp_path, env, workers=1)
    try:
        marker = tmp_path / "pid"
        notebook = _sleeper(tmp_path, marker)
        thread, box = _in_thread(lambda: run(notebook, workspace_url(), isolation=cluster.address))
        _when(lambda: marker.exists() and marker.read_text().strip())
        os.kill(int(marker.read_text()), signal.SIGKILL)
        thread.join(timeout=240)
        assert not thread.is_alive()
        result = box["result"]
    finally:
        stop_cluster(cluster)

    assert result.steps["sleeps"].status == "failed"
    assert result.steps["sleeps"].error["message"] == (
        "step 'sleeps': its Dask worker died while running it (killed, or out of memory)"
    )
    assert result.steps["after"].status == "skipped"


def test_a_run_the_cache_serves_needs_no_cluster(tmp_path):
    from runkit import cache_notebook

    notebook = cache_notebook(tmp_path)
    first = run(notebook, tmp_path / ".nb2pipe")
    nobody = f"dask://127.0.0.1:{free_port()}"  # no scheduler there
    second = run(notebook, tmp_path / ".nb2pipe", isolation=nobody)

    assert first.ok, first.failure()
    assert set(statuses(second).values()) == {"cached"}
    assert second.metrics == first.metrics


def test_on_a_cluster_every_ready_step_is_handed_over_by_default(tmp_path):
    """Without --max-parallel a cluster gets as many steps as are ready (its scheduler queues
    them for its workers), not as many as the coordinator has cores; locally, the cores."""
    import os

    from nb2pipe.runner import load_pipeline
    from nb2pipe.runner.isolation import default_parallel, isolation

    branches = (os.cpu_count() or 1) + 3  # wider than this machine
    fan = write_notebook(
        tmp_path / "fan.ipynb",
        code("x = 1", "step:a"),
        *(code(f"y{i} = x + {i}", f"step:b{i}") for i in range(branches)),
    )
    pipeline, _ = load_pipeline(fan)
    assert default_parallel(isolation("dask://10.0.0.9:8786"), pipeline) == branches
    for local in ("dask", "kernel", "process"):
        assert default_parallel(isolation(local), pipeline) == (os.cpu_count() or 1)
