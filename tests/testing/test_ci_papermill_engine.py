"""Plain papermill users pick nb2pipe's engine by name: `papermill --engine nb2pipe in out`."""

from __future__ import annotations

import json

import pytest
from nbtestkit import code, run, write_notebook


def test_papermill_finds_the_engine_through_its_entry_point(tmp_path):
    """In a fresh interpreter, before nb2pipe registers anything itself."""
    out = run(
        "python",
        "-c",
        "from importlib.metadata import entry_points\n"
        "from papermill.engines import papermill_engines\n"
        "names = [e.name for e in entry_points(group='papermill.engine')]\n"
        "engine = papermill_engines.get_engine('nb2pipe')\n"
        "print('nb2pipe' in names, engine.__module__, engine.__qualname__)",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "nb2pipe.runner.engine", "Nb2PipeEngine"]


@pytest.mark.slow
def test_papermill_cli_runs_a_notebook_with_the_nb2pipe_engine(tmp_path):
    source = write_notebook(
        tmp_path / "in.ipynb",
        code("greeting = 'hello'", "parameters"),
        code("print(greeting, 6 * 7)"),
    )
    out = run(
        "papermill", "--engine", "nb2pipe", source, tmp_path / "out.ipynb",
        "-p", "greeting", "hi", "--no-progress-bar", cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    executed = json.loads((tmp_path / "out.ipynb").read_text(encoding="utf-8"))
    cells = executed["cells"]
    assert "injected-parameters" in cells[1]["metadata"]["tags"]
    assert cells[2]["outputs"] == [{"name": "stdout", "output_type": "stream", "text": ["hi 42\n"]}]
    assert executed["metadata"]["papermill"]["exception"] is None
    # The name really selects an engine: an unknown one is refused.
    wrong = run("papermill", "--engine", "nb2pipe_typo", source, tmp_path / "x.ipynb",
                cwd=tmp_path)  # fmt: skip
    assert wrong.returncode != 0
    assert "No engine named 'nb2pipe_typo' found" in wrong.stderr
