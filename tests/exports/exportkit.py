"""Pipelines and helpers shared by the export tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from support.commands import run_script
from support.notebooks import EXAMPLES, code, write_notebook
from support.servers import unavailable

from nb2pipe.compile.compiler import compile_notebook
from nb2pipe.compile.ir import Pipeline
from nb2pipe.exports.airflow import render_local
from nb2pipe.exports.airflow_kubernetes import render_kubernetes
from nb2pipe.exports.argo import render_workflow
from nb2pipe.exports.dockerfile import build_files
from nb2pipe.exports.kfp import compile_yaml, kfp_pipeline

__all__ = ["code", "write_notebook"]

EXAMPLE = EXAMPLES / "breast_cancer_diagnosis.ipynb"
GOLDEN = Path(__file__).resolve().parent / "golden"
BASE_IMAGE = os.environ.get("NB2PIPE_TEST_BASE_IMAGE", "localhost/nb2pipe-test-base:bookworm")
CONTAINERS_CONF = Path(os.environ.get("NB2PIPE_CONTAINERS_CONF", "/etc/containers/nb2pipe.conf"))


# --- the golden pipeline: every tag an export reads ------------------------------------------
#
#   make ──► total (metric total_value; gpu, retries, cache:off, timeout)
#     └────► side (after:total, without data from it; its own base image)
#   report (reads nothing; requirements tags)

GOLDEN_PARAMS = """\
n = 5  # rows
scale = 2.0  # factor
label = "demo"  # a title
verbose = False  # chatty output
weights = [1, 2]  # a list
shape = (2, 3)  # a tuple: not a KFP type, stays as written
missing = None  # None: stays as written"""


def golden_notebook(folder: Path) -> Path:
    return write_notebook(
        folder / "small.ipynb",
        code(GOLDEN_PARAMS, "parameters"),
        code("import numpy as np", "imports"),
        code("a = np.arange(n) * scale", "step:make", "cpu:500m", "memory:1.5Gi"),
        code(
            "t = float(a.sum()) * len(weights)",
            "step:total",
            "gpu:1",
            "retries:2",
            "cache:off",
            "timeout:600",
        ),
        code("total_value = t", "metrics"),
        code("s = a[::-1].copy()", "step:side", "after:total", "image:python:3.12-slim"),
        code(
            "import requests\nmessage = f'{label}: {shape} {missing} {verbose}'",
            "step:report",
            "requirements:requests,tabulate>=0.9",
        ),
    )


@dataclass
class Snapshot:
    """A fixed set of installed distributions, so golden requirement files never follow the
    versions of the environment the tests run in (other tests check those)."""

    modules: dict[str, list[str]] = field(default_factory=dict)
    dists: dict[str, tuple[str, list[str]]] = field(default_factory=dict)

    def providers(self, module: str) -> list[str]:
        return sorted(self.modules.get(module, []))

    def version(self, dist: str) -> str | None:
        return self.dists[dist][0] if dist in self.dists else None

    def requires(self, dist: str) -> list[str]:
        return self.dists[dist][1] if dist in self.dists else []

    def local(self, dist: str) -> bool:
        return False


SNAPSHOT = Snapshot(
    modules={"numpy": ["numpy"], "requests": ["requests"], "yaml": ["pyyaml"]},
    dists={
        "numpy": ("2.0.0", []),
        "papermill": ("2.6.0", ["click", "nbclient>=0.2", "pyyaml", 'aiohttp; python_version<"3"']),
        "ipykernel": ("6.29.0", ["jupyter-client>=8", "appnope; platform_system == 'Darwin'"]),
        "pyarrow": ("16.0.0", ["numpy>=1.16.6"]),
        "joblib": ("1.4.2", []),
        "cloudpickle": ("3.0.0", []),
        "click": ("8.1.7", []),
        "nbclient": ("0.10.0", ["jupyter-client>=6.1.12", "nbformat>=5.1"]),
        "jupyter-client": ("8.6.0", []),
        "nbformat": ("5.10.4", []),
        "pyyaml": ("6.0.1", []),
        "requests": ("2.32.3", ["urllib3<3,>=1.21.1", "PySocks>=1.5.6; extra == 'socks'"]),
        "urllib3": ("2.2.2", []),
    },
)


def golden_images(pipeline: Pipeline) -> dict[str, str]:
    """Fixed image references: the tags hash the runtime sources, which other changes touch."""
    return {s.name: f"registry.example/nb2pipe-small-{s.name}:golden" for s in pipeline.steps}


def render_golden(folder: Path) -> dict[str, str]:
    """Every generated file of the golden pipeline (relative path → text)."""
    notebook = golden_notebook(folder)
    pipeline = compile_notebook(notebook)
    files = build_files(
        pipeline, "python:3.11-slim", SNAPSHOT, out_dir=folder, notebook_path=notebook
    )
    out = {
        rel: text
        for rel, text in files.items()
        if rel.startswith(("requirements/", "dockerfiles/"))
    }
    images = golden_images(pipeline)
    out["kfp.yaml"] = compile_yaml(kfp_pipeline(pipeline, images))
    out["argo.yaml"] = render_workflow(pipeline, images)
    out["airflow_dag.py"] = render_local(pipeline)
    out["airflow_kubernetes_dag.py"] = render_kubernetes(pipeline, images)
    return out


# --- podman ----------------------------------------------------------------------------------


def require_podman() -> None:
    """Skip (fail under CI) unless podman and the local base image are ready."""
    problem = None
    if shutil.which("podman") is None:
        problem = "podman is not installed"
    else:
        env = podman_env()
        found = subprocess.run(
            ["podman", "image", "exists", BASE_IMAGE], capture_output=True, env=env
        )
        if found.returncode != 0:
            problem = f"base image {BASE_IMAGE} is missing"
    if problem:
        message = f"{problem}: run tests/exports/setup_podman.sh"
        unavailable(message)


def podman_env() -> dict[str, str]:
    env = dict(os.environ)
    if "CONTAINERS_CONF" not in env and CONTAINERS_CONF.is_file():
        env["CONTAINERS_CONF"] = str(CONTAINERS_CONF)
    return env


def manifests(run_dir: Path, steps: list[str], name=lambda step: step) -> dict[str, dict]:
    """Each step's artifacts manifest (files with sha256, metrics) under `run_dir`."""
    return {
        step: json.loads((run_dir / name(step) / "artifacts" / "manifest.json").read_text())
        for step in steps
    }


def cli(*args, cwd: Path, env: dict | None = None, timeout: float = 900):
    return run_script("nb2pipe", *args, cwd=cwd, env=env, timeout=timeout)


if __name__ == "__main__":  # for the determinism test: render in a fresh interpreter
    print(json.dumps(render_golden(Path(sys.argv[1]))))
