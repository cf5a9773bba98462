from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from runkit import cache_notebook, clone_workspace, run

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
