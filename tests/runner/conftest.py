from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from clusterkit import s3_env, s3_server, start_cluster, stop_cluster, unavailable
from runkit import cache_notebook, clone_workspace, run
from servers import NotReady
from teamstore import Missing

from nb2pipe.runner import RunResult


@dataclass
class Base:
    """One finished run of the shared cache pipeline (see runkit.cache_notebook)."""

    notebook: Path
    workspace: Path
    result: RunResult


@pytest.fixture(scope="session")
def cache_base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    folder = tmp_path_factory.mktemp("cache-base")
    notebook = cache_notebook(folder)
    workspace = folder / ".nb2pipe"
    result = run(notebook, workspace)
    assert result.ok, result.failure()
    return Base(notebook, workspace, result)


@pytest.fixture
def cached_workspace(cache_base: Base, tmp_path: Path) -> Path:
    """A private copy of the base run's workspace: every step of the base notebook is cached."""
    return clone_workspace(cache_base.workspace, tmp_path / ".nb2pipe")


@pytest.fixture(scope="session")
def s3_store(tmp_path_factory: pytest.TempPathFactory):
    """moto's S3 server on 127.0.0.1, this process's S3 client pointed at it."""
    with s3_server(tmp_path_factory.mktemp("s3")) as server:
        with pytest.MonkeyPatch.context() as patch:
            for key, value in s3_env(server).items():
                patch.setenv(key, value)
            yield server


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory, s3_store):
    """A Dask scheduler and two one-thread workers on 127.0.0.1, which reach the S3 server."""
    import os

    root = tmp_path_factory.mktemp("dask")
    env = {**os.environ, **s3_env(s3_store), "NB2PIPE_NO_TRACKING": "1"}
    try:
        cluster = start_cluster(root, env)
    except (Missing, NotReady) as e:
        unavailable(e)
    yield cluster
    stop_cluster(cluster)
