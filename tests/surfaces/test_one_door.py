"""One door to start a run: the CLI, the sidebar's route and `%mlops run` compile the notebook
once and type its parameters through `nb2pipe.compile.parameters.typed_values`, then call
`run_pipeline` with the compiled pipeline."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from support.notebooks import code, markdown, write_notebook

import nb2pipe.compile.compiler
from nb2pipe.compile.parameters import Param, typed_values
from nb2pipe.errors import ParameterError
from nb2pipe.runner.rundir import RunDir

pytestmark = pytest.mark.slow


@pytest.fixture
def compilations(monkeypatch):
    """The paths `compile_notebook` was asked to compile, in order."""
    seen = []
    compile_notebook = nb2pipe.compile.compiler.compile_notebook

    def counted(path):
        seen.append(path)
        return compile_notebook(path)

    monkeypatch.setattr(nb2pipe.compile.compiler, "compile_notebook", counted)
    monkeypatch.setenv("NB2PIPE_NO_TRACKING", "1")
    return seen


def tiny(folder):
    return write_notebook(
        folder / "tiny.ipynb",
        markdown("# Tiny pipeline"),
        code("rows = 10", "parameters"),
        code("data = list(range(rows))", "step:load"),
        code("total = sum(data)", "step:train"),
    )


def test_a_run_from_the_cli_the_sidebar_or_a_cell_compiles_the_notebook_once(
    tmp_path, compilations
):
    from jupyter_mlops.server.live import LiveRun
    from jupyter_mlops.server.runs import execute, prepare
    from jupyter_mlops.widgets.live_run import run
    from nb2pipe.cli import main

    notebook = tiny(tmp_path)

    result = CliRunner().invoke(main, ["run", str(notebook), "-p", "rows", "5"])
    assert result.exit_code == 0, result.output
    assert len(compilations) == 1

    pipeline, resolved, params = prepare(notebook, {"rows": "6"})  # as POST runs does
    live = LiveRun(tmp_path, resolved)
    state = SimpleNamespace(root=tmp_path, tracking_uri=None)
    options = {"pipeline": pipeline, "notebook": resolved, "params": params, "force": False}
    execute(live, state, options, logging.getLogger("test"))
    assert live.status == "succeeded", live.error
    assert len(compilations) == 2

    view = run(notebook, rows="7")  # what `%mlops run -p rows=7` calls
    assert view.status == "succeeded"
    assert len(compilations) == 3

    # each door's run, with the values it was given, typed
    runs = sorted((tmp_path / ".nb2pipe" / "runs").iterdir())
    assert sorted(RunDir(r).info()["params"]["rows"] for r in runs) == [5, 6, 7]


def test_every_door_reads_a_value_the_same_way():
    params = [Param("rows", 10, "int"), Param("name", "a", "str"), Param("shape", (1, 2), "tuple")]
    assert typed_values(params, {"rows": "5", "name": "5", "shape": "(3, 4)"}) == {
        "rows": 5,
        "name": "5",
        "shape": (3, 4),
    }
    assert typed_values(params, {"rows": 5, "shape": [3, 4]}) == {"rows": 5, "shape": (3, 4)}
    assert typed_values(params, {"rows": "5"}, raw={"rows"}) == {"rows": "5"}  # `-r`
    with pytest.raises(ParameterError, match=r"parameter 'name' expects a str, got 5"):
        typed_values(params, {"name": 5})
    with pytest.raises(ParameterError, match=r"parameter 'rows' expects an int, got .__import__"):
        typed_values(params, {"rows": "__import__('os').system('true')"})
    with pytest.raises(ParameterError, match=r"^-p row: unknown parameter \(did you mean 'rows'"):
        typed_values(params, {"row": "5"}, flags=True)
    # run.json's values are values: a stored string is never read as a literal again
    assert typed_values([Param("x", None, "None")], {"x": "5"}, text=False) == {"x": "5"}
