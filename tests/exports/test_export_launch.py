"""The step launcher: what every step image runs (no kernel in these tests)."""

from __future__ import annotations

import pytest

from nb2pipe.compile import build
from nb2pipe.exports import launch


def test_the_launcher_passes_the_run_directory_under_the_step_notebooks_name():
    assert launch.RUN_DIR_PARAM == build.RUN_DIR_PARAM


@pytest.mark.parametrize(
    ("kind", "raw", "value"),
    [
        ("str", "42", "42"),
        ("int", "42", 42),
        ("int", "42.0", 42),  # how some engines write integers
        ("float", "0.25", 0.25),
        ("bool", "true", True),
        ("bool", "False", False),
        ("json", "[1, 2]", [1, 2]),
        ("json", '{"a": 1}', {"a": 1}),
    ],
)
def test_parameters_come_back_with_their_declared_type(kind, raw, value):
    assert launch.convert(kind, raw) == value
    assert type(launch.convert(kind, raw)) is type(value)


@pytest.mark.parametrize(("kind", "raw"), [("int", "4.5"), ("bool", "maybe"), ("x", "1")])
def test_bad_parameter_values_are_refused(kind, raw):
    with pytest.raises(ValueError):
        launch.convert(kind, raw)


def test_a_missing_module_is_explained_in_one_line():
    message = launch.explain("train", "ModuleNotFoundError", "No module named 'xgboost.sklearn'")
    assert message == (
        "step 'train': module 'xgboost' is not in the step's requirements "
        "(add a requirements:xgboost tag)"
    )
    assert launch.missing_module("sklearn", "scikit-learn").endswith(
        "(add a requirements:scikit-learn tag)"
    )


def test_other_errors_name_the_step_and_the_exception():
    assert launch.explain("train", "ValueError", "bad") == "step 'train' failed: ValueError: bad"
    assert launch.missing_module_name("ImportError", "No module named 'x'") is None


def test_the_runtime_copied_into_step_images_imports_on_its_own(tmp_path):
    # Step images get only dockerfile.RUNTIME_MODULES, not the installed package: a module the
    # runtime imports but the list forgets fails only inside a container, long after compile.
    import subprocess
    import sys

    from nb2pipe.exports import dockerfile

    for name, text in dockerfile.runtime_files().items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    # -S -I: the standard library only, as the runtime promises at import; no editable install
    probe = (
        f"import sys; sys.path.insert(0, {str(tmp_path / 'runtime')!r}); "
        "import nb2pipe.artifacts, nb2pipe.exports.launch; print(nb2pipe.__file__)"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-I", "-c", probe], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(str(tmp_path))
