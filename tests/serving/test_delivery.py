"""The champion reaches a running `nb2pipe serve` by itself, with real processes: a shared
`mlflow server` as the registry (reached through a relay the test can cut), a serving process
following the alias, a client sending requests all along, and the CLI moving the aliases.

v1 champion → v2 published and promoted: answered by v2 within 10 s, no request failed → v3,
whose predict raises on its own rows, promoted: never swapped in, v2 goes on answering, v3
carries the reason → rollback twice: v1 answers again; the history shows every move.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from urllib.parse import urlsplit

import pytest
from support.project import cli, error_lines
from support.servers import free_port
from support.serving import Relay, broken_model, gate, publish, trained

from jupyter_mlops.data.prediction_log import read_log
from jupyter_mlops.serving.server import start_server

pytestmark = pytest.mark.slow
SWAP_WITHIN = 10.0  # seconds from a promotion to answers from the new version


class Traffic:
    """A client sending 1-row requests back to back on a kept-alive connection."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.address = (parts.hostname, parts.port)
        self.answers: list[tuple[float, str]] = []  # (when, X-Model-Version)
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        body = json.dumps(
            {"dataframe_split": {"columns": ["x", "y"], "data": [[0.3, -0.2]]}}
        ).encode()
        conn = http.client.HTTPConnection(*self.address, timeout=30)
        while not self._stop.is_set():
            try:
                conn.request("POST", "/invocations", body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                payload = response.read()
                if response.status != 200:
                    self.failures.append(f"{response.status}: {payload[:200]!r}")
                    continue
                self.answers.append((time.monotonic(), response.getheader("X-Model-Version")))
            except (OSError, http.client.HTTPException) as e:
                self.failures.append(repr(e))
                conn.close()
                conn = http.client.HTTPConnection(*self.address, timeout=30)
            time.sleep(0.005)
        conn.close()

    def latest(self) -> str | None:
        return self.answers[-1][1] if self.answers else None

    def wait_for(self, version: str, since: float, server, timeout: float = SWAP_WITHIN) -> float:
        """Seconds from `since` until answers come from `version` (fails after `timeout`)."""
        deadline = since + timeout
        while time.monotonic() < deadline:
            if self.answers and self.answers[-1][0] > since and self.latest() == version:
                return time.monotonic() - since
            time.sleep(0.1)
        raise AssertionError(
            f"answers still from version {self.latest()} {timeout:.0f}s after the move:\n"
            + output(server)
        )

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)


@pytest.fixture(scope="module")
def delivery(mlflow_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("delivery")
    name = f"delivered-{uuid.uuid4().hex[:6]}"
    model, data = trained(seed=1)
    assert publish(mlflow_server.url, name, model, data, 0.90) == "1"
    registry = urlsplit(mlflow_server.url)
    relay = Relay((registry.hostname, registry.port))
    server = start_server(
        name, log=root / "predictions.jsonl", tracking_uri=relay.url, options=("--poll", "1")
    )
    traffic = Traffic(server.url)
    try:
        yield name, server, traffic, relay, root
    finally:
        traffic.stop()
        assert server.stop() == 0, server.output.read_text()


def until(read, done, timeout: float = 20.0):
    """`read()` again until `done(value)`; the value (fails after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            assert done(value), value
            return value
        time.sleep(0.3)


def output(server) -> str:
    return server.output.read_text(errors="replace")


def wait_line(server, text: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in output(server).splitlines():
            if text in line:
                return line
        time.sleep(0.2)
    raise AssertionError(f"no line with {text!r} in the server's output:\n{output(server)}")


def test_a_promotion_reaches_the_service_and_a_failing_version_never_does(
    delivery, mlflow_server, tmp_path
):
    from mlflow.tracking import MlflowClient

    name, server, traffic, _, _ = delivery
    client = MlflowClient(mlflow_server.url, mlflow_server.url)
    assert server.live()["version"] == "1"

    # v2 is published and wins the gate: the service follows within seconds, nothing fails.
    model, data = trained(seed=2, boundary=0.1)
    assert publish(mlflow_server.url, name, model, data, 0.95) == "2"  # then promoted
    traffic.wait_for("2", time.monotonic(), server)
    assert server.live()["version"] == "2"
    # The checks are recorded on the version once it serves (the record does not hold it up).
    recorded = until(
        lambda: client.get_model_version(name, "2"), lambda v: "Deployment checks" in v.description
    )
    assert recorded.tags["deploy.check"] == "passed"
    assert "| predictions | ok | 5 equal to those recorded at publish |" in recorded.description

    # v3 raises on its own rows. Checked before the gate, it stays challenger: one line per
    # failed check.
    env = {"MLFLOW_TRACKING_URI": mlflow_server.url}
    assert publish(mlflow_server.url, name, broken_model(), data, 0.99, promote=False) == "3"
    done = cli("promote", name, "--metric", "accuracy", "--check", cwd=tmp_path, **env)
    assert done.returncode == 1, done.stderr
    lines = error_lines(done.stderr)
    assert [line.split(": ")[1:3] for line in lines] == [
        [f"{name} version 3", check] for check in ("answers", "predictions", "latency")
    ]
    assert "RuntimeError: the feature store does not answer" in lines[0]
    assert f"{name} version 3 stays challenger: 3 pre-deployment check(s) failed" in done.stdout
    # Through the gate alone it becomes champion, but the service never swaps it in.
    gate(mlflow_server.url, name)
    line = wait_line(server, f"error: {name} version 3 not swapped in")
    assert "version 2 keeps serving" in line and "RuntimeError" in line
    time.sleep(2)  # a few more polls: still v2, and the refusal is said once
    assert output(server).count(f"error: {name} version 3 not swapped in") == 1
    assert traffic.latest() == "2" and server.live()["version"] == "2"
    tags = until(lambda: client.get_model_version(name, "3").tags, lambda t: "deploy.rejected" in t)
    assert tags["deploy.check"] == "failed"
    assert "the feature store does not answer" in tags["deploy.rejected"]
    assert tags["deploy.check.answers"].startswith("failed: rows recorded at publish")

    # Rollback: the champion before v3 (v2, still serving), then the one before v2.
    done = cli("rollback", name, cwd=tmp_path, **env)
    assert done.returncode == 0, done.stderr
    assert f"{name}: champion moved back from version 3 to version 2" in done.stdout
    done = cli("rollback", name, "--why", "v2 misjudges new customers", cwd=tmp_path, **env)
    assert done.returncode == 0, done.stderr
    traffic.wait_for("1", time.monotonic(), server)  # from the move (the command's last act)

    done = cli("history", name, "--alias", "champion", cwd=tmp_path, **env)
    assert done.returncode == 0, done.stderr
    moves = done.stdout.strip().splitlines()
    assert [m.split()[2] for m in moves] == ["-", "1", "2", "3", "2"]  # from
    assert [m.split()[4] for m in moves] == ["1", "2", "3", "2", "1"]  # to
    assert [m.split()[5] for m in moves] == ["gate", "gate", "gate", "rollback", "rollback"]
    assert "[gate: promoted]" in moves[1] and "v2 misjudges new customers" in moves[4]
    done = cli("history", name, cwd=tmp_path, **env)
    assert done.stdout.count(" challenger ") == 3  # each publish moved the challenger

    assert traffic.failures == []
    logged = read_log(server.log)
    assert set(logged["model_version"]) == {"1", "2"} and set(logged["path"]) == {"champion"}


def test_the_service_outlives_a_registry_outage(delivery, mlflow_server):
    name, server, traffic, relay, _ = delivery
    relay.cut()
    try:
        wait_line(server, "warning: the registry does not answer")
        before = len(traffic.answers)
        time.sleep(1.5)
        assert len(traffic.answers) > before  # still answering, from the loaded version
    finally:
        relay.restore()
    wait_line(server, "the registry answers again")
    assert output(server).count("warning: the registry does not answer") == 1
    assert traffic.failures == []


def test_a_pinned_version_and_bad_inputs_are_one_line_each(delivery, mlflow_server, tmp_path):
    name, _, _, _, _ = delivery
    env = {"MLFLOW_TRACKING_URI": mlflow_server.url}
    for args, expected in (
        (("serve", f"{name}@nope", "--port", "0"), f"model '{name}' has no alias 'nope'"),
        (("serve", f"{name}/9", "--port", "0"), f"model '{name}' has no version '9'"),
        (("serve", name, "--canary", "150"), "--canary 150: give a percentage above 0"),
        (("rollback", "nosuch"), "no registered model named 'nosuch'"),
        (("rollback", name, "--to", "9"), f"model '{name}' has no version '9'"),
        (("history", "nosuch"), "no registered model named 'nosuch'"),
        (("deploy", "check", "nosuch"), "no registered model named 'nosuch'"),
    ):
        done = cli(*args, cwd=tmp_path, **env)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        [line] = error_lines(done.stderr)
        assert expected in line, (args, line)
        assert "Traceback" not in done.stderr

    # Nothing to roll back to: a model that only ever had one champion.
    model, data = trained(seed=3)
    lonely = f"{name}-lonely"
    publish(mlflow_server.url, lonely, model, data, 0.9)
    done = cli("rollback", lonely, cwd=tmp_path, **env)
    assert done.returncode == 2
    [line] = error_lines(done.stderr)
    assert f"model '{lonely}': nothing to roll back to" in line

    # The registry down at start: one line, no retries for minutes.
    down = f"http://127.0.0.1:{free_port()}"
    began = time.monotonic()
    done = cli("serve", name, "--port", "0", cwd=tmp_path, MLFLOW_TRACKING_URI=down)
    assert done.returncode == 2 and time.monotonic() - began < 60
    [line] = error_lines(done.stderr)
    assert f"the registry at {down} does not answer" in line
