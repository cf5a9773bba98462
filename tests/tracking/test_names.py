"""Run names a person can say: the notebook, and the parameter values that differ from its own."""

from __future__ import annotations

import json

from jupyter_mlops.tracking.names import name_of_run, notebook_defaults, run_name, value_text

DEFAULTS = {"test_size": 0.25, "C": 1.0, "kernel": "rbf", "layers": [64, 32]}


def test_a_run_with_the_notebooks_values_is_the_notebooks_name():
    assert run_name("work/wine_quality.ipynb", dict(DEFAULTS), DEFAULTS) == "wine_quality"


def test_a_changed_value_is_named_after_the_notebook():
    params = {**DEFAULTS, "C": 0.5}
    assert run_name("wine_quality.ipynb", params, DEFAULTS) == "wine_quality · C=0.5"


def test_changed_values_come_in_the_parameters_cells_order():
    params = {**DEFAULTS, "kernel": "linear", "test_size": 0.3}
    name = run_name("wine_quality.ipynb", params, DEFAULTS)
    assert name == "wine_quality · test_size=0.3, kernel=linear"


def test_a_list_read_back_from_run_json_equals_the_notebooks_tuple():
    defaults = {"sizes": (1, 2), "cols": {"a", "b"}}
    assert run_name("nb.ipynb", {"sizes": [1, 2], "cols": ["a", "b"]}, defaults) == "nb"


def test_long_values_and_long_names_are_cut():
    params = {**DEFAULTS, "kernel": "x" * 100}
    name = run_name("nb.ipynb", params, DEFAULTS)
    assert name.startswith("nb · kernel=xxx") and name.endswith("…")
    assert len(value_text("y" * 200)) == 24
    many = {f"p{i}": i for i in range(40)}
    assert len(run_name("nb.ipynb", many, dict.fromkeys(many, -1))) == 80


def test_numbers_read_as_typed():
    assert value_text(0.1 + 0.2) == "0.3"
    assert value_text(1e-05) == "1e-05"
    assert value_text(True) == "True"
    assert value_text([64, 32]) == "[64, 32]"


def test_the_name_of_a_run_folder_reads_its_pipeline_yaml(tmp_path):
    (tmp_path / "pipeline.yaml").write_text(
        "name: wine\nparams:\n- name: C\n  type: float\n  value: 1.0\n"
        "- name: shape\n  type: tuple\n  literal: (3, 4)\n"
    )
    assert notebook_defaults(tmp_path / "pipeline.yaml") == {"C": 1.0, "shape": (3, 4)}
    info = {"source": "/p/wine.ipynb", "params": {"C": 2.0, "shape": [3, 4]}}
    assert name_of_run(tmp_path, info) == "wine · C=2"
    json.dumps(info)  # run.json's own shape


def test_a_run_folder_without_a_readable_pipeline_yaml_claims_no_defaults(tmp_path):
    (tmp_path / "pipeline.yaml").write_text("params: [unclosed")
    assert notebook_defaults(tmp_path / "pipeline.yaml") == {}
    assert notebook_defaults(tmp_path / "missing.yaml") == {}
    # every value then counts as changed: nothing is claimed to be the notebook's own
    assert name_of_run(tmp_path, {"source": "nb.ipynb", "params": {"C": 1}}) == "nb · C=1"
