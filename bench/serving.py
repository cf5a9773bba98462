"""Serving: one-row requests on keep-alive connections, `nb2pipe serve` vs `mlflow models serve`
of the same registered model, measured in the same run; then 64 connections for 10 s; then the
front under attack: 64 connections trickling half-requests (one byte every 1-2 s) while normal
requests are timed, a client slower than `--timeout` in total, a body of 100,000 nested
brackets and one above the size bound.

The load generator is this process: one thread per connection, each with its own kept-alive
`http.client` connection, sending one-row `dataframe_split` requests back to back. Both servers
get the same generator on the same (2-core) machine, so the ratio is fair; absolute figures
include the generator's own cost.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from .measure import BIN, figure

PUBLISH = """
import os, sys
import numpy as np, pandas as pd
from sklearn.linear_model import LogisticRegression
import jupyter_mlops
seed, accuracy = int(sys.argv[1]), float(sys.argv[2])
rng = np.random.default_rng(seed)
X = pd.DataFrame({"x": rng.normal(size=1000), "y": rng.normal(size=1000)})
model = LogisticRegression().fit(X, (X["x"] + 0.1 * X["y"] > 0).astype(int))
jupyter_mlops.publish_model(
    model, "bench", metric="accuracy", metrics={"accuracy": accuracy}, data=X
)
jupyter_mlops.promote("bench", "accuracy")
"""
BODY = json.dumps({"dataframe_split": {"columns": ["x", "y"], "data": [[0.25, -1.5]]}}).encode()
HEADERS = {"Content-Type": "application/json"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, process: subprocess.Popen, out: Path, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = out.read_text(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"the server exited with {process.returncode}: {tail}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/ping")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"no answer on port {port} within {timeout:.0f}s")


def publish(env: dict, tmp: Path, seed: int, accuracy: float) -> None:
    """A model of `bench` published and promoted through the gate (in its own process)."""
    subprocess.run(
        [sys.executable, "-c", PUBLISH, str(seed), str(accuracy)],
        check=True,
        env=env,
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def load(port: int, connections: int, seconds: float, versions: bool = False, until=None) -> dict:
    """`connections` keep-alive clients for `seconds`: latencies (s), requests and errors
    (and with `versions`, the versions that answered, from the X-Model-Version header).
    With `until`, they stop 3 s after it returns true (`seconds` is then the longest)."""
    latencies: list[float] = []
    errors = [0]
    seen: set = set()
    lock = threading.Lock()
    start = threading.Barrier(connections + 1)
    stop_at = [0.0]

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, failed = [], 0
        start.wait()
        while time.perf_counter() < stop_at[0]:
            began = time.perf_counter()
            try:
                conn.request("POST", "/invocations", body=BODY, headers=HEADERS)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    failed += 1
                elif versions:
                    seen.add(response.getheader("X-Model-Version"))
            except (OSError, http.client.HTTPException):
                failed += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            mine.append(time.perf_counter() - began)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + seconds
    start.wait()
    began = time.perf_counter()
    if until is not None:
        while time.perf_counter() < stop_at[0] and not until():
            time.sleep(0.2)
        stop_at[0] = min(stop_at[0], time.perf_counter() + 3.0)
    for t in threads:
        t.join()
    took = time.perf_counter() - began
    latencies.sort()
    return {
        "requests": len(latencies),
        "rate": len(latencies) / took,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": latencies[int(len(latencies) * 0.99)] if latencies else float("nan"),
        "errors": errors[0],
        "max": latencies[-1] if latencies else float("nan"),
        "versions": ",".join(sorted(v for v in seen if v)),
    }


TIMEOUT = 5.0  # the server's --timeout in this bench


def trickle(port: int, connections: int, seconds: float) -> dict:
    """`connections` clients each sending a request's head one byte every 1-2 s, while one
    normal client sends a request every 0.25 s: the normal requests' latencies (s), and how
    many tricklers the server closed (a slowloris attack, and the server's answer to it)."""
    import random

    head = b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    closed = [0]
    stop = threading.Event()

    def trickler(seed: int) -> None:
        rng = random.Random(seed)
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
        except OSError:
            return
        try:
            for byte in head * 100:
                if stop.is_set():
                    return
                s.sendall(bytes([byte]))
                stop.wait(rng.uniform(1.0, 2.0))
        except OSError:
            closed[0] += 1  # the server closed it
        finally:
            s.close()

    threads = [
        threading.Thread(target=trickler, args=(i,), daemon=True) for i in range(connections)
    ]
    for t in threads:
        t.start()
    time.sleep(2.0)  # every trickler has started its request
    latencies, failed = [], 0
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        start = time.perf_counter()
        try:
            conn.request("POST", "/invocations", body=BODY, headers=HEADERS)
            response = conn.getresponse()
            response.read()
            latencies.append(time.perf_counter() - start)
            failed += response.status != 200
        except (OSError, http.client.HTTPException):
            failed += 1
            latencies.append(float("inf"))
        finally:
            conn.close()
        time.sleep(0.25)
    stop.set()
    for t in threads:
        t.join(5)
    return {"latencies": latencies, "failed": failed, "closed": closed[0]}


def slow_client_closed_after(port: int, limit: float) -> float:
    """Seconds until the server closes a client that sends a whole request's head, a byte
    every 0.5 s (never silent, always slower than `limit` in total)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=limit * 4)
    began = time.perf_counter()
    try:
        for byte in b"POST /invocations HTTP/1.1\r\nHost: x\r\n" * 10:
            s.sendall(bytes([byte]))
            time.sleep(0.5)
            if time.perf_counter() - began > limit * 4:
                return float("inf")
    except OSError:
        return time.perf_counter() - began
    finally:
        s.close()
    return float("inf")


def status_of(port: int, body: bytes, headers: dict | None = None) -> int:
    """The status of one request (a declared Content-Length with no body: the answer comes
    before any body is read)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.putrequest("POST", "/invocations")
        for key, value in {**HEADERS, "Content-Length": str(len(body)), **(headers or {})}.items():
            conn.putheader(key, value)
        conn.endheaders(body or None)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _start(command: list[str], env: dict, out: Path) -> subprocess.Popen:
    with open(out, "wb") as f:
        return subprocess.Popen(command, stdout=f, stderr=subprocess.STDOUT, env=env)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def measure(tmp: Path) -> None:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'mlflow.db'}",
        "MLFLOW_EXPERIMENT_NAME": "bench",
        # `mlflow models serve` runs `uvicorn` from PATH: this environment's
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    publish(env, tmp, seed=1, accuracy=0.9)
    ours_port, theirs_port = _free_port(), _free_port()
    ours = _start(
        [
            str(BIN / "nb2pipe"),
            "serve",
            "bench@champion",
            "--port",
            str(ours_port),
            "--log",
            str(tmp / "predictions.jsonl"),
            "--timeout",
            str(TIMEOUT),
            "--poll",
            "1",
        ],
        env,
        tmp / "ours.txt",
    )
    theirs = _start(
        [
            str(BIN / "mlflow"),
            "models",
            "serve",
            "-m",
            "models:/bench@champion",
            "--port",
            str(theirs_port),
            "--env-manager",
            "local",
            "--workers",
            "1",
        ],
        env,
        tmp / "theirs.txt",
    )
    try:
        _wait(ours_port, ours, tmp / "ours.txt")
        _wait(theirs_port, theirs, tmp / "theirs.txt")
        load(ours_port, 8, 1.0)  # warm both up: first requests import and compile
        load(theirs_port, 8, 1.0)
        one, one_peer = load(ours_port, 1, 3.0), load(theirs_port, 1, 3.0)
        figure(
            "serving, 1-row requests, 1 keep-alive connection",
            f"p50 {one['p50'] * 1000:.2f} ms (mlflow models serve: "
            f"{one_peer['p50'] * 1000:.2f} ms)",
            "the cost of one request, no queueing",
        )
        mine, peer = load(ours_port, 8, 5.0), load(theirs_port, 8, 5.0)
        figure(
            "serving, 1-row requests, 8 keep-alive connections",
            f"p50 {mine['p50'] * 1000:.2f} ms, p99 {mine['p99'] * 1000:.1f} ms, "
            f"{mine['rate']:.0f} req/s, {mine['errors']} errors",
            "p50 <= 5 ms",
        )
        figure(
            "serving throughput vs mlflow models serve (8 connections)",
            f"{mine['rate'] / peer['rate']:.2f}x ({mine['rate']:.0f} vs {peer['rate']:.0f} req/s;"
            f" mlflow p50 {peer['p50'] * 1000:.2f} ms, {peer['errors']} errors)",
            ">= 1.0x",
        )
        wide = load(ours_port, 64, 10.0)
        figure(
            "serving, 64 connections for 10 s",
            f"{wide['errors']} errors, {wide['requests']} requests, p50 "
            f"{wide['p50'] * 1000:.1f} ms, p99 {wide['p99'] * 1000:.1f} ms",
            "0 errors",
        )
        # A promotion under load: v2 is published, checked in the serving process and swapped
        # in while 8 connections keep asking. Latencies before vs from publishing until 3 s
        # after the server says it swapped (publishing itself takes a while on a busy machine).
        steady = load(ours_port, 8, 3.0)
        swapping: dict = {}

        def swapped() -> bool:
            return "swapped" in (tmp / "ours.txt").read_text(errors="replace")

        during = threading.Thread(
            target=lambda: swapping.update(load(ours_port, 8, 180.0, versions=True, until=swapped))
        )
        during.start()
        publish(env, tmp, seed=2, accuracy=0.95)
        during.join()
        said = [
            line
            for line in (tmp / "ours.txt").read_text(errors="replace").splitlines()
            if "swapped" in line or "checking" in line
        ]
        figure(
            "serving, a promotion under load (8 connections): the check and the swap",
            f"{swapping['errors']} errors; p99 {swapping['p99'] * 1000:.1f} ms, slowest "
            f"{swapping['max'] * 1000:.1f} ms (before: p99 {steady['p99'] * 1000:.1f} ms); "
            f"answered by versions {swapping['versions']}; the server: "
            f"{said[-1] if said else 'nothing yet'}",
            "0 errors; none slower than the p99 budget (1.5x the p99, +5 ms at least)",
        )
        attack = trickle(ours_port, 64, 12.0)
        worst = max(attack["latencies"])
        figure(
            "serving, 64 connections trickling half-requests (1 byte every 1-2 s)",
            f"{len(attack['latencies'])} normal requests, {attack['failed']} failed, slowest "
            f"{worst * 1000:.1f} ms; {attack['closed']} of 64 tricklers closed by the server",
            "each normal request answered within 1 s",
        )
        closed = slow_client_closed_after(ours_port, TIMEOUT)
        figure(
            f"serving, a client sending a byte every 0.5 s (--timeout {TIMEOUT:g})",
            f"closed after {closed:.1f} s",
            f"closed once it has taken {TIMEOUT:g} s",
        )
        nested = b'{"dataframe_split": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        figure(
            "serving, bad bodies",
            f"100,000 nested brackets: {status_of(ours_port, nested)}; a 9 MB body: "
            f"{status_of(ours_port, b'', {'Content-Length': '9000000'})}",
            "400 and 413",
        )
    finally:
        _stop(ours)
        _stop(theirs)
