import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from nbfactory import EXAMPLE, KALE, code, markdown, notebook, write_notebook

from nb2pipe.cli import main
from nb2pipe.compile.tag_table import grammar


def nb2pipe_script() -> str:
    script = Path(sys.executable).with_name("nb2pipe")
    return str(script) if script.exists() else shutil.which("nb2pipe")


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


# --- bad input: one line on stderr, exit 2, nothing written -------------------------------------


@dataclass
class BadInput:
    write: Callable[[Path], None]  # writes the input at the given path
    message: str  # a regex of the message after "error: FILE: [cell N: ]"
    cell: int | None = None


def _text(text: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(text, encoding="utf-8")


def _cells(*cells: dict) -> Callable[[Path], None]:
    return lambda path: write_notebook(path, *cells)


def _json(data) -> Callable[[Path], None]:
    return _text(json.dumps(data))


NBFORMAT3 = {
    "metadata": {"name": "old"},
    "nbformat": 3,
    "nbformat_minor": 0,
    "worksheets": [{"cells": [{"cell_type": "code", "input": "x = 1", "outputs": []}]}],
}

BAD_INPUTS = {
    "invalid_json": BadInput(
        _text('{"cells": ['), r"not valid JSON \(line 1, column 12: Expecting value\)"
    ),
    "empty_file": BadInput(_text(""), r"not valid JSON \(line 1, column 1: Expecting value\)"),
    "json_list": BadInput(_json([1, 2]), r"not a Jupyter notebook \(no 'cells' list\)"),
    "dict_without_cells": BadInput(
        _json({"metadata": {}, "nbformat": 4}), r"not a Jupyter notebook \(no 'cells' list\)"
    ),
    "nbformat_3": BadInput(
        _json(NBFORMAT3), r".+"
    ),  # the wording: test_a_real_nbformat_3_notebook_is_named_as_such
    "nbformat_3_with_cells": BadInput(
        _json({**notebook([]), "nbformat": 3}),
        r"nbformat 3 is not supported; open and save it in Jupyter 4\+ to upgrade",
    ),
    "not_utf8": BadInput(
        lambda path: path.write_bytes(b"\xff\xfe\x00garbage"), r"not a notebook \(not UTF-8 text\)"
    ),
    "malformed_cell": BadInput(
        _json({**notebook([code("x = 1", "step:a")]), "cells": [{"source": "x"}]}),
        r"malformed cell \(no valid 'cell_type'\)",
        cell=1,
    ),
    "null_in_source": BadInput(
        _json(notebook([code("x = 1", "step:a"), {**code(""), "source": ["y = 1\n", None]}])),
        "malformed cell: its source must be text or a list of text lines",
        cell=2,
    ),
    "huge_cell": BadInput(
        _cells(code("x = [" + "1, " * 200_000 + "]", "step:a")),
        r"the cell is too large to analyse \(600,006 characters; the limit is 400,000\).+",
        cell=1,
    ),
    "tags_not_a_list": BadInput(
        _json(notebook([{**code("x = 1"), "metadata": {"tags": "step:a"}}])),
        "cell tags must be a list of strings",
        cell=1,
    ),
    "misspelt_tag": BadInput(
        _cells(markdown("# T"), code("x = 1", "stpe:load")),
        r"unknown tag 'stpe:load' \(did you mean 'step:load'\?\)",
        cell=2,
    ),
    "bad_step_name": BadInput(
        _cells(code("x = 1", "step:Load")),
        r"bad step name 'Load': step names are lower-case identifiers .*e\.g\. 'load'",
        cell=1,
    ),
    "bad_resource": BadInput(
        _cells(code("x = 1", "step:a", "memory:lots")), "bad tag 'memory:lots': .+", cell=1
    ),
    "cycle": BadInput(
        _cells(code("x = 1", "step:a", "after:b"), code("y = 2", "step:b", "after:a")),
        "steps form a cycle: a → b → a",
        cell=1,
    ),
    "unknown_after": BadInput(
        _cells(code("x = 1", "step:load"), code("y = 2", "step:train", "after:laod")),
        r"after:laod: no step is named 'laod' \(did you mean 'load'\?\)",
        cell=2,
    ),
    "undefined_name": BadInput(
        _cells(code("x = 1", "step:a"), code("print(len(x), missing)", "step:b")),
        "name 'missing' is used but no earlier step, import or parameter defines it",
        cell=2,
    ),
    "parameter_is_a_call": BadInput(
        _cells(code("n = compute()", "parameters"), code("print(n)", "step:a")),
        r"parameter 'n' is not a constant expression: `compute\(\)` .+",
        cell=1,
    ),
    "parameter_is_a_name": BadInput(
        _cells(code("n = elsewhere", "parameters"), code("print(n)", "step:a")),
        "parameter 'n' is not a constant expression: `elsewhere` .+",
        cell=1,
    ),
    "parameter_is_an_import": BadInput(
        _cells(code("import os", "parameters"), code("x = 1", "step:a")),
        "line 1: only assignments of literal values belong in the parameters cell.+",
        cell=1,
    ),
    "syntax_error": BadInput(
        _cells(code("x = 1", "step:a"), code("y = (", "step:b")), "line 1: .+", cell=2
    ),
    "metrics_before_first_step": BadInput(
        _cells(code("x = 1", "metrics"), code("y = 2", "step:a")),
        "a metrics, serve or step-settings tag before the first step: .+",
        cell=1,
    ),
    "empty": BadInput(_cells(), "the notebook has no code to run: .+", cell=None),
}


def expected_line(path: str, case: BadInput) -> re.Pattern:
    where = re.escape(path) + (f": cell {case.cell}" if case.cell is not None else "")
    return re.compile(f"error: {where}: {case.message}\n")


@pytest.fixture(params=sorted(BAD_INPUTS))
def bad_input(request, tmp_path) -> tuple[Path, BadInput]:
    case = BAD_INPUTS[request.param]
    path = tmp_path / "notebook.ipynb"
    case.write(path)
    return path, case


@pytest.mark.parametrize("command", ["compile", "check", "show"])
def test_bad_input_is_one_error_line_and_exit_2(bad_input, tmp_path, command):
    path, case = bad_input
    out = tmp_path / "OUT"
    args = [command, path, "-o", out] if command == "compile" else [command, path]
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert expected_line(str(path), case).fullmatch(result.stderr), result.stderr
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not out.exists()
    assert not (tmp_path / "notebook_pipeline").exists()


def test_bad_input_through_the_console_script(bad_input, tmp_path):
    path, case = bad_input
    result = subprocess.run(
        [nb2pipe_script(), "compile", path.name, "-o", "OUT"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert expected_line(path.name, case).fullmatch(result.stderr), result.stderr
    assert not (tmp_path / "OUT").exists()


def test_missing_notebook(tmp_path):
    result = invoke("compile", tmp_path / "nope.ipynb", "-o", tmp_path / "OUT")
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path / 'nope.ipynb'}: no such file\n"
    assert not (tmp_path / "OUT").exists()


def test_check_refuses_a_connection_crossing_steps_in_one_line_naming_the_cell(make_notebook):
    nb = make_notebook(
        code("import sqlite3\nimport pandas as pd", "imports"),
        code("conn = sqlite3.connect('shop.db')", "step:extract"),
        code("orders = pd.read_sql('select * from orders', conn)", "step:load"),
    )
    result = invoke("check", nb)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {nb}: cell 2: 'conn' is a database connection, which cannot be passed from "
        "step 'extract' to step 'load' (it reads it in cell 3): create it in the step that "
        "uses it\n"
    )


def test_a_directory_is_not_a_notebook(tmp_path):
    result = invoke("check", tmp_path)
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path}: is a directory, not a notebook\n"


def test_a_real_nbformat_3_notebook_is_named_as_such(tmp_path):
    path = tmp_path / "old.ipynb"
    BAD_INPUTS["nbformat_3"].write(path)
    result = invoke("check", path)
    assert result.exit_code == 2
    assert "nbformat 3 is not supported" in result.stderr


def test_failed_compile_leaves_an_earlier_output_untouched(make_notebook, tmp_path):
    out = tmp_path / "OUT"
    nb = make_notebook(code("x = 1", "step:a"), code("print(x)", "step:b"))
    assert invoke("compile", nb, "-o", out).exit_code == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    make_notebook(code("x = 1", "step:a"), code("print(x)", "step:B"))
    result = invoke("compile", nb, "-o", out)
    assert result.exit_code == 2
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_complex_parameter_compiles_or_is_one_error_line(make_notebook, tmp_path):
    nb = make_notebook(code("z = 1+2j", "parameters"), code("print(z)", "step:a"))
    result = invoke("compile", nb, "-o", tmp_path / "OUT")
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code in (0, 2)


@pytest.mark.parametrize("blocked", ["OUT", "OUT/steps"])
def test_unwritable_output_is_one_error_line_and_nothing_written(tmp_path, blocked):
    (tmp_path / blocked).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / blocked).write_text("a file in the way")
    result = subprocess.run(
        [nb2pipe_script(), "compile", str(KALE), "-o", "OUT"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in result.stderr
    assert result.returncode == 2
    assert re.fullmatch(r"error: .+\n", result.stderr)
    assert not (tmp_path / "OUT" / "pipeline.yaml").exists()


# --- names the compiler accepts without a producer ---------------------------------------------


def test_builtins_display_and_star_imports_compile(make_notebook, tmp_path):
    nb = make_notebook(
        code("from math import *", "step:a"),
        code("xs = [sqrt(2), pi]\nprint(len(xs))\ndisplay(xs)", "step:b"),
    )
    result = invoke("compile", nb, "-o", tmp_path / "OUT")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


# --- compile ----------------------------------------------------------------------------------


def test_compile_writes_pipeline_yaml_and_step_notebooks(tmp_path):
    out = tmp_path / "wine"
    result = invoke("compile", EXAMPLE, "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"compiled 5 steps into {out}/ (6 files)\n"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "pipeline.yaml",
        "steps/evaluate.ipynb",
        "steps/load.ipynb",
        "steps/poly_features.ipynb",
        "steps/scaled_features.ipynb",
        "steps/train.ipynb",
    ]


def test_compile_defaults_to_a_directory_beside_the_notebook(tmp_path):
    nb = tmp_path / "kale.ipynb"
    nb.write_bytes(KALE.read_bytes())
    result = invoke("compile", nb)
    assert result.exit_code == 0, result.output
    out = tmp_path / "kale_pipeline"
    assert (out / "pipeline.yaml").is_file()
    assert sorted(p.name for p in (out / "steps").iterdir()) == [
        "load_data.ipynb",
        "prepare.ipynb",
        "train_model.ipynb",
    ]
    assert "source: ../kale.ipynb\n" in (out / "pipeline.yaml").read_text(encoding="utf-8")


def test_recompiling_gives_identical_bytes(tmp_path):
    first, second = tmp_path / "a" / "out", tmp_path / "b" / "out"
    for out in (first, second, first):
        assert invoke("compile", EXAMPLE, "-o", out).exit_code == 0

    def files(root):
        return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    assert files(first) == files(second)


def test_recompiling_deletes_notebooks_of_removed_steps(make_notebook, tmp_path):
    out = tmp_path / "OUT"
    nb = make_notebook(code("x = 1", "step:a"), code("y = x", "step:b"), code("print(y)", "step:c"))
    assert invoke("compile", nb, "-o", out).exit_code == 0
    assert sorted(p.name for p in (out / "steps").iterdir()) == ["a.ipynb", "b.ipynb", "c.ipynb"]
    make_notebook(code("x = 1", "step:a"), code("y = x"), code("print(y)", "step:c"))
    result = invoke("compile", nb, "-o", out)
    assert result.exit_code == 0
    assert sorted(p.name for p in (out / "steps").iterdir()) == ["a.ipynb", "c.ipynb"]
    assert "name: b\n" not in (out / "pipeline.yaml").read_text(encoding="utf-8")


def test_console_script_compiles(tmp_path):
    result = subprocess.run(
        [nb2pipe_script(), "compile", str(EXAMPLE), "-o", str(tmp_path / "OUT")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert (tmp_path / "OUT" / "steps" / "train.ipynb").is_file()


# --- show -------------------------------------------------------------------------------------


def test_show_lists_steps_edges_parameters_and_layers():
    result = invoke("show", EXAMPLE)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "pipeline breast_cancer_diagnosis  (from breast_cancer_diagnosis.ipynb)"
    text = result.stdout
    assert (
        "parameters\n"
        "  test_size    = 0.25 (float)  # fraction of rows held out for the final test\n"
    ) in text
    assert "  C            = 0.1 (float)  # inverse regularisation strength" in text
    assert "  load             cells 10-11  params random_state, test_size\n" in text
    assert "  evaluate         cells 19-20  metrics accuracy, f1_macro\n" in text
    for edge in [
        "  load → scaled_features: test_df, train_df",
        "  load → poly_features: test_df, train_df",
        "  scaled_features → train: X_train_scaled, y_train",
        "  poly_features → train: X_train_poly",
        "  train → evaluate: features_used, model",
    ]:
        assert edge in lines
    assert text.endswith(
        "graph\n  1. load\n  2. scaled_features  poly_features\n  3. train\n  4. evaluate\n"
    )


def test_show_a_small_pipeline_exactly(make_notebook):
    nb = make_notebook(
        code("k = 2  # how many", "parameters"),
        code("xs = list(range(k))", "step:make"),
        code("done = True", "step:tidy", "cache:off"),
        code("print(xs)", "step:report", "after:tidy"),
    )
    result = invoke("show", nb)
    assert result.exit_code == 0
    assert result.stdout == (
        "pipeline notebook  (from notebook.ipynb)\n"
        "\n"
        "parameters\n"
        "  k = 2 (int)  # how many\n"
        "\n"
        "steps\n"
        "  make    cell 2       params k\n"
        "  tidy    cell 3       cache off\n"
        "  report  cell 4\n"
        "\n"
        "edges\n"
        "  make → report: xs\n"
        "  tidy → report: (after: order only)\n"
        "\n"
        "graph\n"
        "  1. make  tidy\n"
        "  2. report\n"
    )


# --- check ------------------------------------------------------------------------------------


def test_check_ok():
    result = invoke("check", EXAMPLE)
    assert result.exit_code == 0
    assert result.stdout == f"ok: {EXAMPLE}: 5 steps, 5 parameters\n"


def test_check_json_shape():
    result = invoke("check", "--format", "json", EXAMPLE)
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert set(data) == {
        "ok",
        "pipeline",
        "parameters",
        "steps",
        "edges",
        "layers",
        "warnings",
        "serve",
    }
    assert data["ok"] is True
    assert data["pipeline"] == "breast_cancer_diagnosis"
    assert data["parameters"] == {
        "test_size": 0.25,
        "random_state": 42,
        "n_estimators": 100,
        "max_depth": 4,
        "C": 0.1,
    }
    for step in data["steps"]:
        assert set(step) == {
            "name",
            "cells",
            "upstream",
            "inputs",
            "outputs",
            "params",
            "metrics",
        }
    evaluate = data["steps"][-1]
    assert evaluate["name"] == "evaluate"
    assert evaluate["cells"] == [19, 20]
    assert {"name": "model", "producer": "train"} in evaluate["inputs"]
    assert evaluate["metrics"] == ["accuracy", "f1_macro"]
    assert {"from": "load", "to": "poly_features", "names": ["test_df", "train_df"]} in data[
        "edges"
    ]
    assert data["layers"] == [
        ["load"],
        ["scaled_features", "poly_features"],
        ["train"],
        ["evaluate"],
    ]


def test_check_json_error(make_notebook):
    nb = make_notebook(markdown("# t"), code("x = 1", "stpe:load"))
    result = invoke("check", "--format", "json", nb)
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {
        "ok": False,
        "error": {
            "file": str(nb),
            "cell": 2,
            "message": "unknown tag 'stpe:load' (did you mean 'step:load'?)",
            "kind": "TagError",
        },
    }


def test_check_writes_nothing(make_notebook, tmp_path):
    nb = make_notebook(code("x = 1", "step:a"))
    before = sorted(tmp_path.rglob("*"))
    assert invoke("check", nb).exit_code == 0
    assert sorted(tmp_path.rglob("*")) == before


# --- tags, help, version ----------------------------------------------------------------------


def test_tags_prints_the_grammar():
    result = invoke("tags")
    assert result.exit_code == 0
    ours, others = result.stdout.split("\n\n")
    lines = ours.splitlines()
    assert len(lines) == len(grammar())
    for line, row in zip(lines, grammar(), strict=True):
        assert line.startswith(row["example"])
        assert row["meaning"] in line
    assert "step:train" in result.stdout
    assert "(also block)" in result.stdout
    assert "(also pipeline-parameters)" in result.stdout
    assert "limit:memory:1Gi" in ours
    [cache] = [line for line in lines if line.startswith("cache:")]
    assert cache.startswith("cache:off") and "run the step every time" in cache
    assert others.splitlines()[1].startswith("raises-exception ")


def test_every_option_of_every_command_says_what_it_does():
    import click

    from nb2pipe.cli import main

    context = click.Context(main)
    missing = []
    for name in main.list_commands(context):
        command = main.get_command(context, name)
        groups = [command] if not isinstance(command, click.Group) else []
        if isinstance(command, click.Group):
            groups = [command.get_command(context, n) for n in command.list_commands(context)]
        for leaf in groups:
            missing += [
                f"{name} {leaf.name} {option.opts[0]}"
                for option in leaf.params
                if isinstance(option, click.Option) and not option.help
            ]
    assert missing == []


@pytest.mark.parametrize("command", [[], ["compile"], ["show"], ["check"], ["tags"]])
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help(command, flag):
    result = invoke(*command, flag)
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: ")
    if not command:
        for name in ["compile", "show", "check", "tags"]:
            assert name in result.stdout
    if command == ["compile"]:
        assert "--output" in result.stdout
    if command == ["check"]:
        assert "--format" in result.stdout


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("nb2pipe, version ")


def test_console_script_help():
    result = subprocess.run(
        [nb2pipe_script(), "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert "compile" in result.stdout
