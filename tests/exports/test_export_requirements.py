"""Per-step requirements: read from the running environment with importlib.metadata."""

from __future__ import annotations

from importlib import metadata

import pytest
from exportkit import EXAMPLE, SNAPSHOT, code, write_notebook
from packaging.utils import canonicalize_name

from nb2pipe.compile.compiler import compile_notebook
from nb2pipe.exports.requirements import (
    RUNTIME,
    Installed,
    requirements_files,
    step_requirements,
)


def _pins(lock: str) -> dict[str, str]:
    out = {}
    for line in lock.splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            out[name] = version
    return out


@pytest.fixture(scope="module")
def wine():
    return compile_notebook(EXAMPLE)


@pytest.fixture(scope="module")
def installed():
    return Installed()


def test_a_step_pins_what_it_imports_to_the_installed_versions(wine, installed):
    found = step_requirements(wine, wine.step("train"), installed)
    direct = {name: pin for name, pin in found.pins.items() if pin.reasons}
    assert set(direct) == {"numpy", "pandas", "scikit-learn", *RUNTIME}
    for name, pin in direct.items():
        assert pin.version == metadata.version(name)
    assert "import sklearn" in direct["scikit-learn"].reasons
    assert direct["papermill"].reasons == {"nb2pipe runtime"}


def test_the_lock_pins_every_dependency_to_the_installed_version(wine, installed):
    lock = step_requirements(wine, wine.step("train"), installed).lock()
    pins = _pins(lock)
    # Dependencies of dependencies are there, pinned: scikit-learn → scipy, threadpoolctl;
    # papermill → nbclient → jupyter-client.
    assert {"scipy", "threadpoolctl", "nbclient", "jupyter-client", "pyzmq"} <= set(pins)
    for name, version in pins.items():
        assert version == metadata.version(name), name
    assert list(pins) == sorted(pins)
    # Nothing of the development tools or the project itself.
    assert not {"pytest", "ruff", "mlflow", "jupyter-mlops", "kfp"} & set(pins)


def test_requirement_files_are_written_for_every_step(wine, installed):
    files = requirements_files(wine, installed)
    assert sorted(files) == sorted(
        f"requirements/{s.name}.{ext}" for s in wine.steps for ext in ("txt", "lock")
    )
    assert "scikit-learn==" in files["requirements/train.txt"]
    assert "# import sklearn" in files["requirements/train.txt"]


def test_a_step_gets_the_requirements_of_the_steps_it_reads_from(tmp_path, installed):
    # `use` never imports pandas, but loading the DataFrame `make` saved needs it.
    notebook = write_notebook(
        tmp_path / "inherit.ipynb",
        code("import pandas as pd\nframe = pd.DataFrame({'x': [1, 2]})", "step:make"),
        code("rows = len(frame)", "step:use"),
    )
    pipeline = compile_notebook(notebook)
    assert pipeline.step("use").imports == []
    pins = step_requirements(pipeline, pipeline.step("use"), installed).pins
    assert pins["pandas"].reasons == {"inputs from make"}
    assert pins["pandas"].version == metadata.version("pandas")


def test_requirements_tags_are_pinned_or_kept_as_written(tmp_path, installed):
    notebook = write_notebook(
        tmp_path / "tags.ipynb",
        code(
            "x = 1",
            "step:only",
            "requirements:PyYAML,nb2pipe-no-such-dist>=1.0,requests<0.1",
        ),
    )
    pipeline = compile_notebook(notebook)
    found = step_requirements(pipeline, pipeline.step("only"), installed)
    text = found.text(pipeline.name)
    # Installed: pinned to this environment, under its canonical name.
    assert f"pyyaml=={metadata.version('PyYAML')}  # requirements:PyYAML" in text
    # Not installed, or installed at a version the tag excludes: kept as the user wrote it.
    assert "nb2pipe-no-such-dist>=1.0  # requirements:nb2pipe-no-such-dist>=1.0" in text
    assert "requests<0.1  # requirements:requests<0.1" in text
    assert "requests<0.1\n" in found.lock()


def test_a_module_nothing_provides_is_named_in_the_file(tmp_path, installed):
    notebook = write_notebook(
        tmp_path / "unknown.ipynb",
        code("import nb2pipe_no_such_module\nimport json\nx = 1", "step:only"),
    )
    pipeline = compile_notebook(notebook)
    found = step_requirements(pipeline, pipeline.step("only"), installed)
    assert found.unresolved == ["nb2pipe_no_such_module"]
    assert "# module 'nb2pipe_no_such_module' is imported but no installed distribution" in (
        found.text(pipeline.name)
    )
    assert "json" not in found.pins  # the standard library needs no pin


def test_markers_and_extras_decide_which_dependencies_apply(tmp_path):
    notebook = write_notebook(tmp_path / "m.ipynb", code("import requests", "step:only"))
    pipeline = compile_notebook(notebook)
    pins = step_requirements(pipeline, pipeline.step("only"), SNAPSHOT).pins
    assert "urllib3" in pins  # unconditional
    assert "pysocks" not in pins  # only with the `socks` extra
    assert "appnope" not in pins  # only on macOS
    assert "aiohttp" not in pins  # only on Python 2
    assert canonicalize_name("PyYAML") in pins  # through papermill


def test_a_distribution_installed_from_a_folder_is_named_not_pinned(tmp_path):
    class WithLocalNumpy(type(SNAPSHOT)):
        def local(self, dist):
            return dist == "numpy"

    installed = WithLocalNumpy(SNAPSHOT.modules, SNAPSHOT.dists)
    notebook = write_notebook(tmp_path / "l.ipynb", code("import numpy", "step:only"))
    pipeline = compile_notebook(notebook)
    found = step_requirements(pipeline, pipeline.step("only"), installed)
    assert "numpy" not in found.pins
    assert "# numpy is installed from a local folder: not pinned" in found.text(pipeline.name)
