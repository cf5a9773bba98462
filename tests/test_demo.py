"""`make demo`, as a new user runs it, twice: the example compiled, run, tracked, published; the
second time every step comes from the cache and the same model is not published again. The clone
sits in a folder whose name has a space: the command the demo prints must still work pasted."""

from __future__ import annotations

import os
import shlex
import shutil

import pytest
from support.commands import run_script
from support.notebooks import EXAMPLES

pytestmark = pytest.mark.slow

EXAMPLE = "breast_cancer_diagnosis"
MODEL = "breast-cancer-diagnosis"


def test_make_demo_twice_publishes_one_version_and_says_where_to_look(tmp_path):
    clone = tmp_path / "my clone"
    clone.mkdir()
    (clone / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (clone / "example_notebooks").mkdir()
    for name in ("demo.py", f"{EXAMPLE}.ipynb"):
        shutil.copy(EXAMPLES / name, clone / "example_notebooks" / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "NB2PIPE_"))}

    def demo():
        done = run_script("python", "example_notebooks/demo.py", cwd=clone, env=env, timeout=900)
        assert done.returncode == 0, done.stdout + done.stderr
        # MLflow's INFO lines and its pip-version warning stay out of the demo's output
        assert "INFO" not in done.stdout + done.stderr
        assert "pip version" not in done.stderr
        return done.stdout

    first = demo()
    assert first.startswith(f"pipeline {EXAMPLE}  (from {EXAMPLE}.ipynb)\n")
    assert f"3. published {MODEL} version 1 (alias challenger)" in first
    second = demo()
    assert "2. ran as a pipeline: succeeded" in second
    assert all(
        " cached " in line
        for line in second.splitlines()
        if line.startswith("   ") and "s  " in line
    )
    assert f"3. already published: {MODEL} version 1 is this very model" in second
    uri = f"sqlite:///{clone / 'mlflow.db'}"
    assert f"mlflow ui --backend-store-uri {shlex.quote(uri)}\n" in second

    from mlflow.tracking import MlflowClient

    versions = MlflowClient(tracking_uri=uri).search_model_versions(f"name = '{MODEL}'")
    assert [str(v.version) for v in versions] == ["1"]
