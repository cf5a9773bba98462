"""A run killed mid-step leaves nothing half-written, and `resume` finishes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from runkit import NB2PIPE, cli_env, code, meta, run, statuses, temp_files, write_notebook

from nb2pipe.errors import Nb2PipeError
from nb2pipe.runner.rundir import RunDir

pytestmark = pytest.mark.slow


def slow_notebook(folder: Path) -> Path:
    # first ──► slow ──► last; `slow` sleeps as many seconds as delay.txt says (30). A resumed
    # run keeps its parameters, so the delay lives in a file: editing it re-runs `slow` only.
    (folder / "delay.txt").write_text("30")
    return write_notebook(
        folder / "slow.ipynb",
        code("import time\nimport numpy as np", "imports"),
        code("a = np.arange(5)", "step:first"),
        code("time.sleep(float(open('delay.txt').read()))\nb = a * 2", "step:slow"),
        code("c = float(b.sum())", "step:last"),
        code("c_value = c", "metrics"),
    )


def read_meta(run_dir: Path, step: str) -> dict:
    try:
        return json.loads((run_dir / step / "meta.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def start_and_stop(folder: Path, notebook: Path, workspace: Path, sig: int):
    """Run `nb2pipe run` until `slow` is running, then send `sig`.

    Returns the exit code, stderr, the run directory and how long the runner took to stop.
    """
    process = subprocess.Popen(
        [str(NB2PIPE), "run", notebook.name, "--workspace", str(workspace)],
        cwd=folder,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Python turns SIGINT into KeyboardInterrupt only if SIGINT is not ignored at start,
        # and a test runner started in the background inherits it ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    children: list[psutil.Process] = []
    try:
        deadline = time.time() + 90
        run_dir = None
        while time.time() < deadline:
            runs = sorted((workspace / "runs").glob("*")) if (workspace / "runs").is_dir() else []
            if runs:
                run_dir = runs[-1]
                first, slow = read_meta(run_dir, "first"), read_meta(run_dir, "slow")
                if first.get("status") == "done" and slow.get("status") == "running":
                    break
            assert process.poll() is None, process.communicate()
            time.sleep(0.1)
        else:
            pytest.fail("step `slow` never started")
        time.sleep(0.5)  # well inside time.sleep(30)
        children = psutil.Process(process.pid).children(recursive=True)
        sent = time.time()
        process.send_signal(sig)
        _out, err = process.communicate(timeout=60)
        return process.returncode, err, run_dir, time.time() - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        # Kernels exit when their parent dies; make sure, by pid, that none outlives the test.
        _gone, alive = psutil.wait_procs(children, timeout=10)
        for child in alive:
            child.kill()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_killed_run_resumes_without_rerunning_finished_steps(tmp_path, sig):
    notebook = slow_notebook(tmp_path)
    source = notebook.read_bytes()
    workspace = tmp_path / ".nb2pipe"

    returncode, stderr, run_dir, stopped_after = start_and_stop(tmp_path, notebook, workspace, sig)

    if sig == signal.SIGKILL:
        assert returncode == -signal.SIGKILL
        # Nobody was left to tidy up: the killed step still reads "running" on disk, until
        # anyone reads the run: the process is gone, so it is marked interrupted.
        assert read_meta(run_dir, "slow")["status"] == "running"
        assert RunDir(run_dir).info()["status"] == "interrupted"
        assert read_meta(run_dir, "slow")["status"] == "interrupted"
        assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    else:
        assert returncode == 130
        assert stopped_after < 15  # the 30 s step was stopped, not waited for
        assert "interrupted: resume with" in stderr
        assert "Traceback" not in stderr
        assert read_meta(run_dir, "slow")["status"] == "interrupted"
        assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"

    # Nothing half-written: step 1 complete, the killed step without outputs, no temp files.
    assert (run_dir / "first" / "artifacts" / "manifest.json").is_file()
    assert not (run_dir / "slow" / "artifacts" / "manifest.json").exists()
    assert not (run_dir / "last").exists()
    assert temp_files(tmp_path) == []
    assert notebook.read_bytes() == source
    assert sorted(p.name for p in tmp_path.iterdir()) == [".nb2pipe", "delay.txt", "slow.ipynb"]

    artifact = run_dir / "first" / "artifacts" / "a.npy"
    before = os.stat(artifact)

    # The delay is a file `slow` reads: a new value changes `slow`'s fingerprint only.
    (tmp_path / "delay.txt").write_text("0")
    result = run(notebook, workspace, resume=run_dir.name)

    assert result.ok, result.failure()
    assert result.run_id == run_dir.name
    assert statuses(result) == {"first": "cached", "slow": "done", "last": "done"}
    assert result.metrics == {"c_value": 20.0}
    after = os.stat(artifact)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert meta(result, "first")["cached_from"] == run_dir.name
    assert json.loads((run_dir / "run.json").read_text())["status"] == "succeeded"
    assert temp_files(tmp_path) == []


def test_resume_of_unknown_run_is_an_error(tmp_path):
    notebook = slow_notebook(tmp_path)
    with pytest.raises(Nb2PipeError, match=r"--resume 20000101-000000-abcdef: no such run"):
        run(notebook, tmp_path / ".nb2pipe", resume="20000101-000000-abcdef")


def test_resume_keeps_the_run_s_parameters_and_other_values_start_a_new_run(tmp_path):
    (tmp_path / "delay.txt").write_text("0")
    notebook = write_notebook(
        tmp_path / "p.ipynb",
        code("k = 1", "parameters"),
        code("x = k * 10", "step:a"),
        code("x_value = x", "metrics"),
    )
    workspace = tmp_path / ".nb2pipe"
    first = run(notebook, workspace, params={"k": 3})
    resumed = run(notebook, workspace, resume=first.run_id)  # no values: the run's own
    assert resumed.run_id == first.run_id
    assert resumed.params == {"k": 3} and resumed.metrics == {"x_value": 30.0}
    seen: list = []
    other = run(notebook, workspace, resume=first.run_id, params={"k": 4}, observers=[seen.append])
    assert other.run_id != first.run_id and other.metrics == {"x_value": 40.0}
    notes = [e.data["message"] for e in seen if e.kind == "warning"]
    assert notes == [f"other parameters than run {first.run_id}: started a new run"]
    assert json.loads((first.run_dir / "run.json").read_text())["params"] == {"k": 3}


@pytest.mark.parametrize(
    "edit",
    [
        lambda text: text.replace('"params": {', '"params": {"k": 9}, "params": {', 1),
        lambda text: text[: len(text) // 2],
        lambda text: "[]",
    ],
    ids=["a key given twice", "cut short", "not an object"],
)
def test_resume_of_an_edited_run_json_is_one_error_not_the_defaults(tmp_path, edit):
    notebook = write_notebook(
        tmp_path / "p.ipynb", code("k = 1", "parameters"), code("x = k * 10", "step:a")
    )
    workspace = tmp_path / ".nb2pipe"
    first = run(notebook, workspace, params={"k": 3})
    record = first.run_dir / "run.json"
    record.write_text(edit(record.read_text()))
    with pytest.raises(Nb2PipeError, match=r"its run.json is not a record nb2pipe wrote"):
        run(notebook, workspace, resume=first.run_id)
