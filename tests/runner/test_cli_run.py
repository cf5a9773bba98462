"""`nb2pipe run`: parameters from `-p` reach the steps, with the types of the parameters cell."""

from __future__ import annotations

import json
import re

import pytest
from runkit import cli, code, error_lines, run, write_notebook

from nb2pipe.errors import ParameterError

pytestmark = pytest.mark.slow

ARGS = ("-p", "n", "5", "-p", "name", "12345", "-p", "rate", "2")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A notebook one folder below where the CLI runs, so `--workspace .nb2pipe` is relative."""
    root = tmp_path_factory.mktemp("cli")
    write_notebook(
        root / "project" / "params.ipynb",
        code('n = 3  # an int\nname = "demo"  # a str\nrate = 0.5  # a float', "parameters"),
        code("label = f'{name}:{n}'", "step:use"),
        code(
            "n_twice = n * 2\n"
            "n_is_int = float(type(n) is int)\n"
            "name_length = len(name)\n"
            "name_is_str = float(type(name) is str)\n"
            "rate_value = rate\n"
            "rate_is_float = float(type(rate) is float)",
            "metrics",
        ),
    )
    out = cli("run", "project/params.ipynb", *ARGS, "--workspace", ".nb2pipe", cwd=root)
    return root, out


def manifest(root, run_id: str, step: str) -> dict:
    path = root / ".nb2pipe" / "runs" / run_id / step / "artifacts" / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_parameters_reach_the_step_with_their_types(project):
    root, out = project
    assert out.returncode == 0, out.stderr
    run_id = out.stdout.split()[1]
    assert out.stdout.startswith(f"run {run_id} succeeded in ")
    assert out.stdout.splitlines()[0].endswith(f"(1 done): .nb2pipe/runs/{run_id}")
    assert manifest(root, run_id, "use")["metrics"] == {
        "n_twice": 10.0,
        "n_is_int": 1.0,
        "name_length": 5.0,  # "12345" stayed a str
        "name_is_str": 1.0,
        "rate_value": 2.0,
        "rate_is_float": 1.0,  # "2" became 2.0 for a float parameter
    }
    meta = json.loads((root / ".nb2pipe" / "runs" / run_id / "use" / "meta.json").read_text())
    assert meta["parts"]["params"] == {"n": 5, "name": "12345", "rate": 2.0}


def test_a_run_ends_with_its_metrics_and_where_to_look(project):
    root, out = project
    run_id = out.stdout.split()[1]
    metrics, notebooks = out.stdout.splitlines()[1:]  # tracking is off: no MLflow line
    assert metrics.startswith("  metrics: ") and "n_twice 10, " in metrics
    assert "name_length 5, " in metrics and "rate_value 2" in metrics
    assert notebooks == f"  executed notebooks: .nb2pipe/runs/{run_id}/<step>/notebook.ipynb"


def test_relative_workspace_is_relative_to_the_current_folder(project):
    root, out = project
    assert out.returncode == 0, out.stderr
    # Artifacts too: the kernels run in the notebook's folder, not in the current one.
    assert sorted(p.name for p in (root / "project").iterdir()) == ["params.ipynb"]
    assert list((root / ".nb2pipe" / "runs").glob("*/use/artifacts/manifest.json"))


def test_same_parameters_again_are_cached_also_from_pipeline_yaml(project):
    root, first = project
    assert first.returncode == 0, first.stderr
    again = cli("run", "project/params.ipynb", *ARGS, "--workspace", ".nb2pipe", cwd=root)
    assert again.returncode == 0, again.stderr
    assert "succeeded" in again.stdout and "(1 cached)" in again.stdout

    compiled = cli("compile", "project/params.ipynb", "-o", "compiled", cwd=root)
    assert compiled.returncode == 0, compiled.stderr
    from_yaml = cli("run", "compiled/pipeline.yaml", *ARGS, "--workspace", ".nb2pipe", cwd=root)
    assert from_yaml.returncode == 0, from_yaml.stderr
    assert "(1 cached)" in from_yaml.stdout

    other = cli("status", "compiled/pipeline.yaml", "-p", "n", "6", "--workspace", ".nb2pipe",
                cwd=root)  # fmt: skip
    assert "parameter n changed" in other.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-p", "n", "abc"), r"parameter 'n' expects an? int, got 'abc'"),
        (("-p", "n", "1.5"), r"parameter 'n' expects an? int, got '1\.5'"),
        (("-p", "rate", "fast"), r"parameter 'rate' expects a float, got 'fast'"),
        (("-p", "nn", "5"), r"-p nn: unknown parameter \(did you mean 'n'\?\)"),
        (("-p", "colour", "5"), r"-p colour: unknown parameter \(parameters: n, name, rate\)"),
    ],
    ids=["not-an-int", "float-for-int", "not-a-float", "misspelt", "unknown"],
)
def test_bad_parameter_is_one_line_and_exit_2(project, args, message):
    root, _ = project
    out = cli("run", "project/params.ipynb", *args, "--workspace", "bad-ws", cwd=root)
    assert out.returncode == 2
    [line] = out.stderr.splitlines()  # one line, no traceback
    assert error_lines(out.stderr) == [line]
    assert re.fullmatch(f"error: {message}", line), line
    assert not (root / "bad-ws").exists()  # rejected before anything ran or was written


def test_unknown_parameter_through_the_api(project, tmp_path):
    root, _ = project
    with pytest.raises(ParameterError, match=r"unknown parameter 'nme' \(did you mean 'name'\?\)"):
        run(root / "project" / "params.ipynb", tmp_path / ".nb2pipe", params={"nme": "x"})
