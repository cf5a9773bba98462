"""A password in the tracking URI is written nowhere: no file, no command line, no output.

A canary password goes into ``MLFLOW_TRACKING_URI`` (``http://ana:CANARY@host``) for pipeline
runs tracked in-process, by the detached sync, and against a server that is down; every file
of the project and its runs, every command line of the machine while they run, and everything
they print are searched for it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from support.commands import NB2PIPE
from support.mlflow_server import code, wait_for, write_notebook
from support.servers import free_port

from jupyter_mlops.credentials import has_credentials, redact, redact_uri


@pytest.mark.parametrize(
    ("uri", "clean"),
    [
        ("http://ana:pw@host:5000", "http://host:5000"),
        ("https://ana@host/path", "https://host/path"),
        ("postgresql://u:p%40ss@db:5432/mlflow", "postgresql://db:5432/mlflow"),
        ("s3://bucket/x?X-Amz-Signature=abc&part=1", "s3://bucket/x?X-Amz-Signature=***&part=1"),
        (
            "https://h/api?access_token=t0k&design=1&sig=s",
            "https://h/api?access_token=***&design=1&sig=***",
        ),
        ("sqlite:////tmp/mlflow.db", "sqlite:////tmp/mlflow.db"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
    ],
)
def test_redact_uri(uri, clean):
    assert redact_uri(uri) == clean
    assert has_credentials(uri) == (uri != clean)


def test_redact_hides_uris_inside_messages_and_secret_variables(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "env-secret-123")
    message = (
        "API request to http://ana:pw@host/api/2.0/mlflow/runs/create failed (token env-secret-123)"
    )
    assert redact(message) == (
        "API request to http://host/api/2.0/mlflow/runs/create failed (token ***)"
    )


class CommandLines(threading.Thread):
    """Reads every process's command line, every few milliseconds, until stopped."""

    def __init__(self, secret: str, folder: Path):
        super().__init__(daemon=True)
        self.secret = secret.encode()
        self.folder = str(folder).encode()
        self.leaks: list[str] = []
        self.syncs_seen = 0  # detached sync processes seen: proof the sampling catches them
        self.stop = threading.Event()

    def run(self) -> None:
        seen: set[str] = set()
        while not self.stop.is_set():
            for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    text = cmdline.read_bytes()
                except OSError:
                    continue
                if self.secret in text:
                    self.leaks.append(text.replace(b"\0", b" ").decode(errors="replace"))
                if _is_sync(text, self.folder) and cmdline.parent.name not in seen:
                    seen.add(cmdline.parent.name)
                    self.syncs_seen += 1
            self.stop.wait(0.01)


def files_holding(folder: Path, secret: str) -> list[Path]:
    return [
        path
        for path in folder.rglob("*")
        if path.is_file() and not path.is_symlink() and secret.encode() in path.read_bytes()
    ]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_password_in_the_tracking_uri_is_written_nowhere(mlflow_server, tmp_path: Path):
    canary = f"canary-{uuid.uuid4().hex[:12]}"
    experiment = f"t{uuid.uuid4().hex[:10]}"
    host = mlflow_server.url.split("//", 1)[1]
    reachable = f"http://ana:{canary}@{host}"
    down = f"http://ana:{canary}@127.0.0.1:{free_port()}"
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "p"\n')
    notebook = write_notebook(
        project / "leak.ipynb",
        code("import jupyter_mlops", "imports"),
        code("x = 2\njupyter_mlops.log_metrics(x=x)", "step:first"),
        code("y = x * 2", "step:second"),
    )
    outputs: list[str] = []

    def nb2pipe(uri: str, *args: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k != "NB2PIPE_NO_TRACKING"}
        env.update(MLFLOW_TRACKING_URI=uri, MLFLOW_EXPERIMENT_NAME=experiment)
        if uri == down:
            env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"  # fail at once, no back-off
        done = subprocess.run(
            [str(NB2PIPE), "run", str(notebook), *args],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        outputs.extend([done.stdout, done.stderr])
        assert done.returncode == 0, done.stderr
        return done

    def run_dir(done: subprocess.CompletedProcess) -> Path:
        run_id = re.findall(r"^run (\S+) ", done.stdout, re.M)[-1]
        return project / ".nb2pipe" / "runs" / run_id

    def info(done: subprocess.CompletedProcess) -> dict:
        return json.loads((run_dir(done) / "run.json").read_text())

    watcher = CommandLines(canary, tmp_path)
    watcher.start()
    try:
        # 1. steps executed: a detached process logs the run after its last step; MLflow's
        # link to the run is in its log
        executed = nb2pipe(reachable)
        assert "not yet logged to MLflow" in executed.stdout
        assert wait_for(lambda: info(executed).get("mlflow_run_id"), 180)
        log = (run_dir(executed) / "tracking.log").read_text()
        assert f"at: {mlflow_server.url}/#/experiments/" in log
        # 2. everything cached: the same
        cached = nb2pipe(reachable)
        assert wait_for(lambda: info(cached).get("mlflow_run_id"), 180)
        # 3. the server is down: the reason in tracking.log and in the run's note
        failed = nb2pipe(down, "--force")
        marker = run_dir(failed) / "tracking.pending"
        wait_for(lambda: marker.exists() and "error" in json.loads(marker.read_text()), 180)
        assert "not tracked" in (run_dir(failed) / "tracking.log").read_text()
        assert info(failed)["pending"]["mlflow"].startswith("not logged to MLflow: ")
        detached = nb2pipe(down)
        pending = run_dir(detached) / "tracking.pending"
        wait_for(lambda: pending.exists() and "error" in json.loads(pending.read_text()), 180)
        assert "not tracked" in (run_dir(detached) / "tracking.log").read_text()
        # ... and the next run says so, instead of staying silent
        later = nb2pipe(down)
        assert f"run {run_dir(detached).name} and 1 earlier not tracked" in later.stderr
        wait_for(lambda: (run_dir(later) / "tracking.pending").exists(), 180)
        wait_for(lambda: _no_sync_running(tmp_path), 180)
    finally:
        watcher.stop.set()
        watcher.join()

    # A password on our own command line is refused (this test put it there, not watched).
    refused = subprocess.run(
        [sys.executable, "-m", "jupyter_mlops.tracking.observer", "sync", str(run_dir(later))]
        + ["--tracking-uri", reachable],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2 and "credentials on a command line" in refused.stderr
    outputs.extend([refused.stdout, refused.stderr])

    assert watcher.syncs_seen >= 3  # the detached syncs were seen while they ran
    assert watcher.leaks == []
    assert [text for text in outputs if canary in text] == []
    assert files_holding(tmp_path, canary) == []
    assert files_holding(mlflow_server.root, canary) == []


def _is_sync(cmdline: bytes, folder: bytes) -> bool:
    """A detached sync of a run under `folder` (not another test's, on a shared machine)."""
    return b"jupyter_mlops.tracking.observer\0sync" in cmdline and folder in cmdline


def _no_sync_running(folder: Path) -> bool:
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if _is_sync(cmdline.read_bytes(), str(folder).encode()):
                return False
        except OSError:
            continue
    return True


ENGINE = """#!{python}
import json, os, sys
record = {{"argv": sys.argv[1:], "uri": os.environ.get("MLFLOW_TRACKING_URI")}}
with open({record!r}, "w") as out:
    json.dump(record, out)
"""


def test_a_container_step_gets_the_uri_through_the_environment_only(tmp_path: Path):
    from nb2pipe.compile.compiler import compile_notebook
    from nb2pipe.runner.container import run_step_in_container

    canary = f"canary-{uuid.uuid4().hex[:12]}"
    uri = f"http://ana:{canary}@mlflow.example.org"
    pipeline = compile_notebook(write_notebook(tmp_path / "one.ipynb", code("x = 1", "step:only")))
    engine = tmp_path / "engine"  # stands in for podman: records how it was called
    record = tmp_path / "engine.json"
    engine.write_text(ENGINE.format(python=sys.executable, record=str(record)))
    engine.chmod(0o755)
    outcome = run_step_in_container(
        pipeline,
        pipeline.step("only"),
        {},
        tmp_path / "run",
        "nb2pipe-one-only:0",
        str(engine),
        env={"MLFLOW_TRACKING_URI": uri},
    )
    assert outcome.ok, outcome.error
    called = json.loads(record.read_text())
    assert called["uri"] == uri  # the engine passes it on with `-e MLFLOW_TRACKING_URI`
    assert "MLFLOW_TRACKING_URI" in called["argv"]
    assert not [arg for arg in called["argv"] if canary in arg]
