"""Steps run in their own images with podman (`nb2pipe.runner.container`).

Needs podman and a local base image (no registry is reachable here): run
tests/exports/setup_podman.sh first. Without them these tests skip locally and fail under CI.
The first build installs the step requirements from PyPI (about a minute); later runs reuse
the images, which are tagged by content hash.
"""

from __future__ import annotations

import json
import os
import re

import pytest
from exportkit import BASE_IMAGE, cli, code, manifests, podman_env, require_podman, write_notebook

from nb2pipe.compile.compiler import compile_notebook
from nb2pipe.runner import load_pipeline, run_pipeline
from nb2pipe.runner.container import prepare_images, run_step_in_container

pytestmark = pytest.mark.slow

SNEAKY_CELL = 6  # the cell of step `sneaky` in the source notebook


def numpy_notebook(folder):
    """A numpy-only pipeline; `sneaky` imports a module behind the static analysis' back."""
    return write_notebook(
        folder / "numbers.ipynb",
        code("n = 5  # rows\nscale = 2.0  # factor", "parameters"),
        code("import numpy as np", "imports"),
        code("a = np.arange(n) * scale", "step:make"),
        code("t = float(a.sum())", "step:total"),
        code("total_value = t", "metrics"),
        code(
            "import importlib\nengine = importlib.import_module('jinja2')\nb = a + 1", "step:sneaky"
        ),
    )


@pytest.fixture(scope="module")
def podman(tmp_path_factory):
    """Images of the numpy pipeline, built (or found) with podman on the local base image."""
    require_podman()
    saved = dict(os.environ)
    os.environ.update(podman_env())
    folder = tmp_path_factory.mktemp("container")
    notebook = numpy_notebook(folder)
    pipeline = compile_notebook(notebook)
    engine, images = prepare_images(pipeline, notebook, folder / ".nb2pipe", base=BASE_IMAGE)
    yield folder, notebook, pipeline, engine, images
    os.environ.clear()
    os.environ.update(saved)


def test_images_are_built_and_tagged_by_content_hash(podman):
    folder, _, pipeline, engine, images = podman
    assert engine == "podman"
    for step in pipeline.steps:
        assert re.fullmatch(rf"nb2pipe-numbers-{step.name}:[0-9a-f]{{12}}", images[step.name])
    context = folder / ".nb2pipe" / "images" / "numbers"
    assert (context / "dockerfiles" / "make.Dockerfile").read_text().startswith("# Generated")
    assert f"FROM {BASE_IMAGE}\n" in (context / "dockerfiles" / "make.Dockerfile").read_text()
    # Steps with the same lock share the install layer.
    locks = {(context / "requirements" / f"{s.name}.lock").read_text() for s in pipeline.steps}
    assert len(locks) == 1


def test_steps_in_containers_write_what_the_local_runner_writes(podman, tmp_path):
    folder, notebook, pipeline, engine, images = podman
    params = {"n": 7, "scale": 3.0}
    run_dir = tmp_path / "run"
    for name in ("make", "total"):
        outcome = run_step_in_container(
            pipeline, pipeline.step(name), params, run_dir, images[name], engine
        )
        assert outcome.ok, outcome.error
        assert (run_dir / name / "notebook.ipynb").is_file()
        assert (run_dir / name / "log.txt").is_file()
    executed = json.loads((run_dir / "make" / "notebook.ipynb").read_text())
    injected = [
        c for c in executed["cells"] if "injected-parameters" in c["metadata"].get("tags", [])
    ]
    assert "n = 7" in "".join(injected[0]["source"])

    local = run_pipeline(*load_pipeline(notebook), params=params, workspace=tmp_path / "ws")
    assert local.ok, local.failure()
    in_container = manifests(run_dir, ["make", "total"])
    assert in_container == manifests(local.run_dir, ["make", "total"])
    assert in_container["total"]["metrics"] == {"total_value": 63.0}


def test_a_module_missing_from_the_requirements_fails_with_a_clear_message(podman, tmp_path):
    _, _, pipeline, engine, images = podman
    run_dir = tmp_path / "run"
    first = run_step_in_container(
        pipeline, pipeline.step("make"), {"n": 3, "scale": 1.0}, run_dir, images["make"], engine
    )
    assert first.ok, first.error
    outcome = run_step_in_container(
        pipeline, pipeline.step("sneaky"), {}, run_dir, images["sneaky"], engine
    )
    assert not outcome.ok
    assert outcome.error["message"] == (
        "module 'jinja2' is not in the step's requirements (add a requirements:jinja2 tag)"
    )
    assert outcome.error["cell"] == SNEAKY_CELL
    assert outcome.error["ename"] == "ModuleNotFoundError"
    log = (run_dir / "sneaky" / "log.txt").read_text()
    assert (
        "nb2pipe: step 'sneaky': module 'jinja2' is not in the step's requirements "
        "(add a requirements:jinja2 tag)"
    ) in log.splitlines()


def test_a_missing_image_is_reported_in_one_line(podman, tmp_path):
    _, _, pipeline, engine, _ = podman
    image = "localhost/nb2pipe-numbers-make:000000000000"
    outcome = run_step_in_container(
        pipeline, pipeline.step("make"), {"n": 1, "scale": 1.0}, tmp_path, image, engine
    )
    assert not outcome.ok
    assert outcome.error["message"] == (
        f"image {image} is not built here (run `nb2pipe build-images`)"
    )


def test_build_images_finds_the_images_already_built(podman):
    folder, notebook, pipeline, _, images = podman
    done = cli("build-images", notebook, "--base", BASE_IMAGE, cwd=folder, env=podman_env())
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(pipeline.steps)
    for line, step in zip(lines, pipeline.steps, strict=True):
        assert line.split() == [step.name, images[step.name], "(present)"]
    assert (folder / "numbers_pipeline" / "requirements" / "make.lock").is_file()


def test_run_isolation_container(podman, tmp_path, monkeypatch):
    """`nb2pipe run --isolation container`: a whole run goes through the steps' images."""
    folder, notebook, pipeline, _, _ = podman
    monkeypatch.setenv("NB2PIPE_BASE_IMAGE", BASE_IMAGE)
    result = run_pipeline(
        *load_pipeline(notebook), isolation="container", workspace=folder / ".nb2pipe"
    )
    assert {n: s.status for n, s in result.steps.items()} == {
        "make": "done",
        "total": "done",
        "sneaky": "failed",
    }
    failure = str(result.failure())
    assert "module 'jinja2' is not in the step's requirements" in failure
