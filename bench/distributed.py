"""The distributed runner's overhead per step against the local runner, on the same notebook.

A Dask scheduler and two one-thread workers (separate processes on 127.0.0.1, started once, as
a team's cluster would be running already) run the six-step notebook with its workspace on the
local disk and on moto's S3 server; the peer is the local runner in warm kernels (the default),
and the workers keep warm kernels too (runner/worker_kernels.py). Every run is `--force`d:
every step executes. Figures: extra seconds per step, over the local runner for the cluster on
local disk, and over the cluster on local disk for S3.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from . import notebooks
from .measure import BIN, REPEAT, figure, timed

HOST = "127.0.0.1"
STEPS = 6
KEYS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}


def measure(tmp: Path) -> None:
    six = notebooks.write(notebooks.six_steps(), tmp / "six" / "six.ipynb")
    repeat = min(REPEAT, 2)  # a distributed run takes a minute here
    processes: list[subprocess.Popen] = []
    try:
        s3_url = _start(processes, [str(BIN / "moto_server"), "-H", HOST, "-p", str(_port())])
        env = {
            **os.environ,
            **KEYS,
            "NB2PIPE_NO_TRACKING": "1",
            "AWS_ENDPOINT_URL": s3_url,
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        _bucket(s3_url)
        scheduler = _cluster(processes, env)
        run = [str(BIN / "nb2pipe"), "run", str(six), "--force"]

        def timed_run(*options: str) -> float:
            return timed(run + list(options), env=env, repeat=repeat)

        space = str(tmp / "space")
        kernel = timed_run("--workspace", space)
        figure("local runner, warm kernels, 6 steps", f"{kernel:.2f} s", "baseline")
        disk = timed_run("--workspace", space, "--executor", scheduler)
        figure(
            "Dask, 2 workers, artifacts on local disk",
            f"{(disk - kernel) / STEPS:+.2f} s/step vs local warm kernels ({disk:.2f} s)",
            "<= +1 s/step",
        )
        s3 = timed_run("--workspace", "s3://bench/runs", "--executor", scheduler)
        figure(
            "Dask, 2 workers, artifacts on moto S3",
            f"{(s3 - disk) / STEPS:+.2f} s/step vs local disk ({s3:.2f} s)",
            "<= +1 s/step",
        )
    finally:
        for p in reversed(processes):
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def _port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _start(processes: list, cmd: list[str], env=None) -> str:
    processes.append(
        subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    )
    return f"http://{HOST}:{cmd[cmd.index('-p') + 1]}" if "-p" in cmd else ""


def _bucket(url: str) -> None:
    import boto3

    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1", **_keys())
    for _ in range(120):
        try:
            client.create_bucket(Bucket="bench")
            return
        except Exception:  # not answering yet
            time.sleep(0.5)
    raise RuntimeError(f"moto_server at {url} did not answer")


def _keys() -> dict[str, str]:
    return {"aws_access_key_id": KEYS["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": "bench"}


def _cluster(processes: list, env: dict) -> str:
    """A scheduler and two one-thread workers; the --executor value that reaches them."""
    from distributed import Client

    port = _port()
    python = [sys.executable, "-m"]
    scheduler = ["distributed.cli.dask_scheduler", "--host", HOST, "--port", str(port)]
    _start(processes, python + scheduler + ["--no-dashboard"], env)
    for _ in range(2):
        worker = ["distributed.cli.dask_worker", f"tcp://{HOST}:{port}", "--nthreads", "1"]
        _start(processes, python + worker + ["--no-dashboard", "--host", HOST], env)
    for _ in range(240):
        try:
            with Client(f"tcp://{HOST}:{port}", timeout=5) as client:
                if len(client.nthreads()) == 2:
                    return f"dask://{HOST}:{port}"
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the Dask workers did not start")
