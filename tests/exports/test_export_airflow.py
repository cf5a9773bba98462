"""Apache Airflow: the DAG file as written, then run for real with `airflow dags test`.

The real runs need Airflow in its own environment (tests/exports/setup_airflow.sh): they
skip without it locally and fail under CI. Each compares the artifacts of every step with
those of `nb2pipe run` on the same parameters, byte for byte (manifests hold the sha256).
"""

from __future__ import annotations

import ast
import json
import shutil

import pytest
from airflowkit import start_airflow
from exportkit import EXAMPLE, cli, code, golden_images, golden_notebook, manifests
from support.notebooks import markdown, write_notebook

from nb2pipe.compile.compiler import compile_notebook
from nb2pipe.errors import Nb2PipeError
from nb2pipe.exports import export_targets
from nb2pipe.exports.airflow import dag_id, docstring, py, render_local, write_dags_folder

# A string that a shell would run, and that Python or Jinja would read as code if it were
# pasted into the DAG unquoted.
HOSTILE = 'a\'b"c $(touch pwned) `touch pwned2`; {{ 7 * 7 }} \\n """ end'


def diamond_notebook(folder, name='dia mond\'s "test".ipynb'):
    """top → (left, right) → bottom; a string parameter that reaches the last step."""
    return write_notebook(
        folder / name,
        markdown('# Diamond\n\nFour steps, two branches. A docstring end: """ and a \\ too.'),
        code('label = "plain"  # text carried to the end\nn = 4  # rows', "parameters"),
        code("import numpy as np", "imports"),
        code("base = np.arange(n)", "step:top"),
        code("left = base * 2", "step:left", "retries:2"),
        code("right = base + 1", "step:right", "timeout:120"),
        code("total = int((left + right).sum())\nprint(f'{label}: {total}')", "step:bottom"),
        code("total_value = total", "metrics"),
    )


def _tree(text: str) -> ast.Module:
    return ast.parse(text)  # the DAG is Python: it must parse, whatever the notebook holds


def _tasks(text: str) -> dict[str, str]:
    """Task name → the source of its `step_task(...)` call."""
    tree = _tree(text)
    (assign,) = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "tasks"
    ]
    return {
        ast.literal_eval(k): ast.unparse(v)
        for k, v in zip(assign.value.keys, assign.value.values, strict=True)
    }


def _edges(text: str) -> set[tuple[str, str]]:
    found = set()
    for node in ast.walk(_tree(text)):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.RShift):
            found.add((ast.literal_eval(node.left.slice), ast.literal_eval(node.right.slice)))
    return found


def test_one_task_per_step_and_the_pipelines_edges():
    pipeline = compile_notebook(EXAMPLE)
    text = export_targets.get("airflow").export(pipeline, {})
    assert list(_tasks(text)) == [s.name for s in pipeline.steps]
    assert _edges(text) == {(u, s.name) for s in pipeline.steps for u in s.upstream}
    assert ("load", "poly_features") in _edges(text)
    assert _tasks(text)["train"] == (
        "step_task('train', uses={'C': 'float', 'max_depth': 'int', "
        "'n_estimators': 'int', 'random_state': 'int'})"
    )


def test_parameters_are_dag_params_with_their_json_types(tmp_path):
    pipeline = compile_notebook(golden_notebook(tmp_path))
    text = render_local(pipeline)
    (params,) = [
        k.value for k in ast.walk(_tree(text)) if isinstance(k, ast.keyword) and k.arg == "params"
    ]
    declared = {}
    for key, call in zip(params.keys, params.values, strict=True):
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        declared[ast.literal_eval(key)] = (ast.literal_eval(call.args[0]), kwargs["type"])
    assert declared == {
        "n": (5, "integer"),
        "scale": (2.0, "number"),
        "label": ("demo", "string"),
        "verbose": (False, "boolean"),
        "weights": ([1, 2], "array"),
    }
    assert "# Not DAG params (None, or no JSON type): shape, missing keep" in text


def test_retries_and_timeouts_come_from_the_step_tags(tmp_path):
    pipeline = compile_notebook(golden_notebook(tmp_path))
    tasks = _tasks(render_local(pipeline))
    assert (
        tasks["total"] == "step_task('total', uses={'weights': 'json'}, retries=2, timeout=600.0)"
    )
    assert tasks["make"] == "step_task('make', uses={'n': 'int', 'scale': 'float'})"
    # The timeout is both the task's execution timeout and papermill's, as in `nb2pipe run`.
    text = render_local(pipeline)
    assert "execution_timeout=None if timeout is None else datetime.timedelta" in text
    assert 'command += ["--timeout", str(timeout)]' in text


def test_notebook_text_never_becomes_dag_code(tmp_path):
    notebook = diamond_notebook(tmp_path, name=f"{HOSTILE.replace('/', '_')}.ipynb")
    source = json.loads(notebook.read_text())
    source["cells"][1]["source"] = f"label = {HOSTILE!r}  # {HOSTILE}\nn = 4  # rows"
    notebook.write_text(json.dumps(source))
    pipeline = compile_notebook(notebook)
    text = render_local(pipeline)
    doc = ast.get_docstring(_tree(text), clean=False)
    assert HOSTILE.replace("/", "_") in doc  # the notebook's name, escaped, reads back
    assert 'A docstring end: """ and a \\ too.' in doc
    assert 'end: """' not in text
    assert dag_id(pipeline).replace("_", "").replace("-", "").isalnum()
    (label,) = [
        n
        for n in ast.walk(_tree(text))
        if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "Param"
    ][:1]
    assert ast.literal_eval(label.args[0]) == HOSTILE
    assert ast.literal_eval(label.keywords[1].value) == HOSTILE
    assert ast.literal_eval(py(HOSTILE)) == HOSTILE
    assert ast.literal_eval(f'"""{docstring(HOSTILE)}"""') == HOSTILE
    with pytest.raises(Nb2PipeError, match="as a Python literal"):
        py(float("nan"))


def test_the_dag_is_the_same_bytes_every_time(tmp_path):
    first = render_local(compile_notebook(diamond_notebook(tmp_path / "a")))
    assert render_local(compile_notebook(diamond_notebook(tmp_path / "b"))) == first
    pipeline = compile_notebook(golden_notebook(tmp_path))
    assert render_local(pipeline) == export_targets.get("airflow").export(
        pipeline, golden_images(pipeline)
    )


def test_the_dags_folder_is_a_folder_and_loses_removed_steps(tmp_path):
    with pytest.raises(Nb2PipeError, match="give -o a folder, e.g. -o dags/"):
        write_dags_folder(tmp_path / "dag.py", {"x.py": ""})
    dags = tmp_path / "dags"
    write_dags_folder(dags, {"p.py": "1", "p/steps/a.ipynb": "{}", "p/steps/b.ipynb": "{}"})
    write_dags_folder(dags, {"p.py": "2", "p/steps/a.ipynb": "{}"})
    assert sorted(p.name for p in (dags / "p" / "steps").iterdir()) == ["a.ipynb"]
    assert (dags / "p.py").read_text() == "2"


# --- for real: airflow dags test on SQLite ----------------------------------------------------


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    return start_airflow(tmp_path_factory.mktemp("airflow"))


def _export(notebook, dags):
    done = cli("export", notebook, "--target", "airflow", "-o", dags, cwd=notebook.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("(airflow)")
    return compile_notebook(notebook)


def _local_run(notebook, *params: str):
    """`nb2pipe run` of the notebook; its run folder."""
    workspace = notebook.parent / "ws"
    done = cli("run", notebook, "--workspace", workspace, *params, cwd=notebook.parent)
    assert done.returncode == 0, done.stderr
    (run,) = (workspace / "runs").iterdir()
    return run


@pytest.mark.slow
def test_the_example_runs_in_airflow_with_the_local_runners_artifacts(airflow, tmp_path):
    notebook = tmp_path / "breast_cancer_diagnosis.ipynb"
    shutil.copyfile(EXAMPLE, notebook)
    pipeline = _export(notebook, tmp_path / "dags")
    assert sorted(
        p.name for p in (tmp_path / "dags" / "breast_cancer_diagnosis" / "steps").iterdir()
    ) == [f"{s.name}.ipynb" for s in sorted(pipeline.steps, key=lambda s: s.name)]
    conf = {"n_estimators": 40, "test_size": 0.3}
    run = airflow.dags_test(
        tmp_path / "dags" / "breast_cancer_diagnosis.py", "breast_cancer_diagnosis", conf
    )

    local = _local_run(notebook, "-p", "n_estimators", "40", "-p", "test_size", "0.3")
    steps = [s.name for s in pipeline.steps]
    in_airflow = manifests(run, steps)
    assert in_airflow == manifests(local, steps)
    assert in_airflow["evaluate"]["metrics"]["accuracy"] > 0.8
    for step in steps:  # the executed notebooks are where `nb2pipe run` puts them
        assert (run / step / "notebook.ipynb").is_file()


@pytest.mark.slow
def test_a_diamond_runs_in_airflow_and_no_parameter_reaches_a_shell(airflow, tmp_path):
    notebook = diamond_notebook(tmp_path)
    pipeline = _export(notebook, tmp_path / "dags")
    name = dag_id(pipeline)
    assert name == "dia_mond_s_test"
    run = airflow.dags_test(tmp_path / "dags" / f"{name}.py", name, {"label": HOSTILE, "n": 6})

    local = _local_run(notebook, "-p", "label", HOSTILE, "-p", "n", "6")
    steps = ["top", "left", "right", "bottom"]
    assert manifests(run, steps) == manifests(local, steps)
    assert manifests(run, steps)["bottom"]["metrics"] == {"total_value": 51.0}
    executed = json.loads((run / "bottom" / "notebook.ipynb").read_text())
    printed = ["".join(o.get("text", "")) for c in executed["cells"] for o in c.get("outputs", [])]
    assert f"{HOSTILE}: 51\n" in printed  # the value arrived as typed, not run by a shell
    assert not list(tmp_path.rglob("pwned*")) and not list(airflow.home.rglob("pwned*"))


@pytest.mark.slow
def test_a_failing_step_fails_the_dag_run_in_one_line(airflow, tmp_path):
    notebook = write_notebook(
        tmp_path / "boom.ipynb",
        code("x = 1", "step:fine"),
        code("raise ValueError('no good')", "step:broken"),
        code("y = 2", "step:after_it", "after:broken"),
    )
    _export(notebook, tmp_path / "dags")
    args = ["dags", "test", "boom", "--dagfile-path", str(tmp_path / "dags" / "boom.py")]
    done = airflow.run(*args, dags=tmp_path / "dags")
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "nb2pipe: step 'broken' failed: ValueError: no good" in output
    assert "step 'broken' failed (exit 1); see " in output

    # A worker whose interpreter lacks nb2pipe (here: Airflow's own) is told what to check.
    python = str(airflow.command.with_name("python"))
    done = airflow.run(*args, dags=tmp_path / "dags", NB2PIPE_PYTHON=python)
    assert done.returncode != 0
    assert f"step 'fine' did not run (exit 1): can {python} import nb2pipe and papermill?" in (
        done.stdout + done.stderr
    )


def _function(text: str, name: str):
    """A function of the DAG file, run here without Airflow (it uses the standard library)."""
    (node,) = [n for n in _tree(text).body if isinstance(n, ast.FunctionDef) and n.name == name]
    namespace: dict = {}
    exec("import os, re\nfrom pathlib import Path\n" + ast.unparse(node), namespace)
    return namespace[name]


@pytest.mark.parametrize("target", ["airflow", "airflow-kubernetes"])
def test_a_run_id_is_one_folder_inside_the_runs_folder(target, monkeypatch, tmp_path):
    pipeline = compile_notebook(EXAMPLE)
    text = export_targets.get(target).export(pipeline, {s.name: "x" for s in pipeline.steps})
    folder = _function(text, "run_folder")
    monkeypatch.setenv("NB2PIPE_RUNS", str(tmp_path))
    for run_id, name in [
        ("manual__2026-11-29T18:41:02.072762+00:00", "manual__2026-11-29T18:41:02.072762+00:00"),
        ("..", "_."),
        ("../../etc", "_._.._etc"),
        (".hidden", "_hidden"),
    ]:
        found = folder(run_id)
        assert str(found) == (str(tmp_path / name) if target == "airflow" else name)


def test_the_kubernetes_form_runs_each_steps_image_with_its_limits(tmp_path):
    pipeline = compile_notebook(golden_notebook(tmp_path))
    text = export_targets.get("airflow-kubernetes").export(pipeline, golden_images(pipeline))
    tasks = _tasks(text)
    assert tasks["make"] == (
        "step_task('make', image='registry.example/nb2pipe-small-make:golden', "
        "limits={'cpu': '500m', 'memory': '1.5Gi'}, uses={'n': 'int', 'scale': 'float'})"
    )
    assert "limits={'nvidia.com/gpu': '1'}" in tasks["total"]
    assert "retries=2, timeout=600.0" in tasks["total"]
    assert _edges(text) == {("make", "total"), ("make", "side"), ("total", "side")}
    assert 'cmds=["python", "-m", "nb2pipe.exports.launch"]' in text


@pytest.mark.slow
def test_airflow_renders_the_kubernetes_pods_arguments_as_given(airflow, tmp_path):
    """`airflow tasks render`: each argument of the pod is one string, a hostile default too."""
    notebook = diamond_notebook(tmp_path)
    source = json.loads(notebook.read_text())
    source["cells"][1]["source"] = f"label = {HOSTILE!r}\nn = 4"
    notebook.write_text(json.dumps(source))
    done = cli("export", notebook, "--target", "airflow-kubernetes", "-o", "dags", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "dags" / "dia_mond_s_test").exists()  # notebooks are in the images
    rendered = airflow.run(
        "tasks", "render", "dia_mond_s_test", "bottom", "manual__x", dags=tmp_path / "dags"
    )
    output = (rendered.stdout + rendered.stderr).splitlines()
    assert rendered.returncode == 0, "\n".join(output[-40:])
    arguments = ast.literal_eval(output[output.index("# property: arguments") + 2])
    assert arguments[arguments.index("--param") :] == ["--param", "label", "str", HOSTILE]
    assert arguments[arguments.index("--run-dir") + 1] == "/nb2pipe/runs/manual__x"
