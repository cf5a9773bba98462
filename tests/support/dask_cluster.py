"""A Dask cluster of real processes on 127.0.0.1 (a scheduler, two `dask worker`s with one
thread each) and moto's S3 server as the workspace, for the distributed runner's tests.

A missing prerequisite (dask, moto, s3fs: all in the dev lock) skips locally and fails under
CI (`CI` set); a server that is there but does not start always fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from support.servers import HOST, NotReady, free_port, log_tail, start_logged, stop_process
from support.team_store import ACCESS_KEY, Missing, S3Server, start_s3

BUCKET = "nb2pipe-team"


def unavailable(problem: Exception):
    """A missing prerequisite skips locally and fails under CI; a failed start always fails."""
    if isinstance(problem, Missing) and not os.environ.get("CI"):
        pytest.skip(f"{problem} (this test needs a Dask cluster and an S3 server)")
    pytest.fail(f"the cluster could not start: {problem}", pytrace=False)


def s3_env(server: S3Server) -> dict[str, str]:
    """What a client of the moto server needs: its endpoint and any keys (moto checks none)."""
    return {
        "AWS_ENDPOINT_URL": server.url,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY[0],
        "AWS_SECRET_ACCESS_KEY": ACCESS_KEY[1],
        "AWS_DEFAULT_REGION": "us-east-1",
    }


@dataclass
class Cluster:
    address: str  # dask://HOST:PORT, as given to --executor
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)
    worker_addresses: set[str] = field(default_factory=set)


def start_cluster(root: Path, env: dict[str, str], workers: int = 2) -> Cluster:
    """`dask scheduler` and `workers` × `dask worker --nthreads 1`, all answering."""
    try:
        import distributed  # noqa: F401
    except ImportError as e:
        raise Missing("Dask is not installed: pip install 'dask[distributed]'") from e
    port = free_port()
    python = sys.executable
    scheduler = start_logged(
        [python, "-m", "distributed.cli.dask_scheduler", "--host", HOST, "--port", str(port)]
        + ["--no-dashboard"],
        root / "scheduler.log",
        env=env,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    cluster = Cluster(f"dask://{HOST}:{port}", scheduler)
    try:
        for n in range(workers):
            command = [python, "-m", "distributed.cli.dask_worker", f"tcp://{HOST}:{port}"]
            command += ["--nworkers", "1", "--nthreads", "1", "--no-dashboard"]
            command += ["--host", HOST, "--name", f"worker-{n}"]
            log = root / f"worker-{n}.log"
            cluster.workers.append(
                start_logged(
                    command, log, env=env, stdin=subprocess.DEVNULL, start_new_session=True
                )
            )
        cluster.worker_addresses = _wait_for_workers(cluster, root, workers)
    except BaseException:
        stop_cluster(cluster)
        raise
    return cluster


def _wait_for_workers(cluster: Cluster, root: Path, count: int, timeout: float = 120) -> set:
    from distributed import Client

    deadline = time.monotonic() + timeout
    address = "tcp://" + cluster.address.removeprefix("dask://")
    while True:
        for process in [cluster.scheduler, *cluster.workers]:
            if process.poll() is not None:
                raise NotReady(f"a Dask process exited:\n{log_tail(root / 'scheduler.log')}")
        try:
            with Client(address, timeout=10) as client:
                found = set(client.nthreads())
            if len(found) >= count:
                return found
        except OSError:
            pass
        if time.monotonic() > deadline:
            logs = "\n".join(log_tail(p) for p in sorted(root.glob("*.log")))
            raise NotReady(f"{count} Dask workers not ready after {timeout:.0f} s:\n{logs}")
        time.sleep(0.5)


def stop_cluster(cluster: Cluster) -> None:
    for process in [*cluster.workers, cluster.scheduler]:
        stop_process(process, group=True)


@contextmanager
def s3_server(root: Path) -> Iterator[S3Server]:
    try:
        import s3fs  # noqa: F401

        server = start_s3(root, BUCKET)
    except ImportError as e:
        unavailable(Missing(f"s3fs is not installed: {e}"))
    except (Missing, NotReady) as e:
        unavailable(e)
    try:
        yield server
    finally:
        stop_process(server.process)


def workspace_url() -> str:
    """A fresh prefix in the test bucket: each test its own workspace."""
    return f"s3://{BUCKET}/{uuid.uuid4().hex[:12]}"
