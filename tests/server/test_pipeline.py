"""POST pipeline: the compile result of saved and unsaved notebooks, errors naming the cell."""

from __future__ import annotations

import json

import pytest
from serverkit import PIPE_CELLS, code

pytestmark = pytest.mark.slow


def test_compile_saved_notebook(server):
    answer = server.post("pipeline", {"path": "pipe.ipynb"})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["ok"] is True
    assert result["pipeline"] == "pipe"
    assert result["parameters"] == {"rows": 200, "shift": 0.0, "pause": 0.0}
    steps = {s["name"]: s for s in result["steps"]}
    assert list(steps) == ["load", "train", "evaluate"]
    assert steps["train"]["upstream"] == ["load"]
    assert steps["train"]["inputs"] == [{"name": "df", "producer": "load"}]
    assert steps["train"]["outputs"] == ["model"]
    assert steps["evaluate"]["upstream"] == ["load", "train"]
    assert steps["evaluate"]["metrics"] == ["r2"]
    assert steps["load"]["cells"] == [4]
    assert {"from": "train", "to": "evaluate", "names": ["model"]} in result["edges"]
    assert result["layers"] == [["load"], ["train"], ["evaluate"]]


def test_compile_unsaved_content(server):
    saved = json.loads((server.root / "pipe.ipynb").read_text())
    # The editor added a step that the file on disk does not have yet.
    saved["cells"].append(code("score = r2 * 100", "step:report"))
    answer = server.post("pipeline", {"path": "pipe.ipynb", "content": saved})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert [s["name"] for s in result["steps"]] == ["load", "train", "evaluate", "report"]
    assert result["layers"][-1] == ["report"]
    # A notebook that is not saved anywhere yet compiles too.
    answer = server.post("pipeline", {"path": "new/Untitled.ipynb", "content": saved})
    assert answer.status_code == 200 and answer.json()["ok"], answer.text


def test_bad_notebook_names_the_cell(server):
    answer = server.post("pipeline", {"path": "bad.ipynb"})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["ok"] is False
    error = result["error"]
    assert error["file"] == "bad.ipynb"
    assert error["cell"] == 2
    assert error["kind"] == "GraphError"
    assert "undefined_name" in error["message"]
    assert str(server.root) not in answer.text


def test_bad_unsaved_content_names_the_cell(server):
    cells = [*PIPE_CELLS[:3], code("x = 1", "step:Bad-Name")]
    content = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    result = server.post("pipeline", {"path": "pipe.ipynb", "content": content}).json()
    assert result["ok"] is False
    assert result["error"]["cell"] == 4 and result["error"]["kind"] == "TagError"
    not_a_notebook = server.post("pipeline", {"path": "pipe.ipynb", "content": {"cells": 3}})
    assert not_a_notebook.json()["error"]["kind"] == "NotebookError"


def test_bad_requests(server):
    assert server.post("pipeline", {"path": "missing.ipynb"}).status_code == 404
    assert server.post("pipeline", {}).status_code == 400
    assert server.post("pipeline", {"path": "pipe.ipynb", "content": "{}"}).status_code == 400
    answer = server.request("POST", "pipeline", data=b"not json")
    assert answer.status_code == 400 and "JSON" in answer.json()["error"]
