"""Parameter values are data in every export target: a line break, YAML or shell syntax in a
notebook's parameter (its default value, a list item, a dict key) never becomes a key, a
document or code of the exported file, and reads back as the notebook wrote it."""

from __future__ import annotations

import ast
import json
import shlex

import pytest
import yaml
from exportkit import cli, code, write_notebook
from support.notebooks import markdown

from nb2pipe.compile.compiler import compile_notebook
from nb2pipe.exports import export_targets

BREAKOUTS = {
    "newline": "x\ninjected_newline: attacker_value #",
    "crlf": "x\r\ninjected_crlf: 1",
    "cr": "x\rinjected_cr: 1",
    "nel": "x\x85injected_nel: 1",
    "line_separator": "x\u2028injected_ls: 1",
    "paragraph_separator": "x\u2029injected_ps: 1",
    "documents": "x\n---\ninjected_document: 1\n...\n",
    "yaml_syntax": 'it\'s "q" # no comment: [1, {a: b}] &a *a !!python/object:os.system |',
    "controls": "nul\x00 bel\x07 esc\x1b[31m del\x7f c1\x9f bom\ufeff",
    "templates": "{{workflow.name}} {{ params.x }} $(touch pwned) `id`",
    "leading": "- injected_item: 1",
    "items": ["a\ninjected_list: 1", "b\x85injected_list2: 1"],
    "mapping": {"k\ninjected_key: 1": "v\ninjected_value: 1"},
}
DESCRIPTION = 'a NUL \x00, a \r, a NEL \x85, a """ and a \\ # injected_description: 1'
TARGETS = ["kfp", "argo", "airflow", "airflow-kubernetes"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    parameters = "\n".join(f"{name} = {value!r}" for name, value in BREAKOUTS.items())
    uses = " + ".join(f"str({name})" for name in BREAKOUTS)
    notebook = write_notebook(
        folder / "hostile.ipynb",
        markdown(f"# Hostile\n\nIts summary: {DESCRIPTION}"),
        code(parameters, "parameters"),
        code(f"text = {uses}", "step:join"),
        code("size = len(text)", "step:count"),
    )
    pipeline = compile_notebook(notebook)
    assert {p.name: p.value for p in pipeline.params} == BREAKOUTS
    return notebook, pipeline


def _export(pipeline, target: str) -> str:
    return export_targets.get(target).export(pipeline, {s.name: "img:1" for s in pipeline.steps})


def _yaml_defaults(target: str, text: str) -> dict:
    documents = list(yaml.safe_load_all(text))
    assert len(documents) == 1
    [spec] = documents
    if target == "kfp":
        assert set(spec) == {
            "components", "deploymentSpec", "pipelineInfo", "root", "schemaVersion", "sdkVersion"
        }  # fmt: skip
        inputs = spec["root"]["inputDefinitions"]["parameters"]
        return {name: item["defaultValue"] for name, item in inputs.items()}
    assert set(spec) == {"apiVersion", "kind", "metadata", "spec"}
    values = {p["name"]: p["value"] for p in spec["spec"]["arguments"]["parameters"]}
    return {k: v if isinstance(BREAKOUTS[k], str) else json.loads(v) for k, v in values.items()}


def _keys(data) -> list[str]:
    if isinstance(data, dict):
        return [k for key, value in data.items() for k in [str(key), *_keys(value)]]
    if isinstance(data, list):
        return [k for item in data for k in _keys(item)]
    return []


def _dag_defaults(text: str) -> dict:
    tree = ast.parse(text)  # the DAG is Python that parses
    params = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _called(n) == "Param"]
    owners = [n for n in ast.walk(tree) if isinstance(n, ast.Dict) and params[0] in n.values]
    [mapping] = owners
    return {
        ast.literal_eval(key): ast.literal_eval(value.args[0])
        for key, value in zip(mapping.keys, mapping.values, strict=True)
    }


def _called(call: ast.Call) -> str:
    return getattr(call.func, "id", getattr(call.func, "attr", ""))


@pytest.mark.parametrize("target", TARGETS)
def test_every_value_reads_back_as_written_and_adds_nothing(hostile, target):
    _, pipeline = hostile
    text = _export(pipeline, target)
    if target.startswith("airflow"):
        assert _dag_defaults(text) == BREAKOUTS
        assert "injected_description" in ast.get_docstring(ast.parse(text))
    else:
        assert _yaml_defaults(target, text) == BREAKOUTS
        # No key anywhere but the one the dict parameter's default holds (kfp keeps it a dict,
        # Argo a JSON string).
        keys = [k for k in _keys(yaml.safe_load(text)) if "injected" in k]
        assert keys == (["k\ninjected_key: 1"] if target == "kfp" else []), target


def test_the_kfp_header_keeps_each_default_on_its_comment_line(hostile):
    _, pipeline = hostile
    text = _export(pipeline, "kfp")
    header = text[: text.index("\ncomponents:")]
    lines = header.split("\n")
    assert all(line.startswith("#") for line in lines), lines
    assert "#    newline: str [Default: 'x\\ninjected_newline: attacker_value #']" in lines
    assert "\x85" not in text.split("\ncomponents:")[0]


@pytest.mark.parametrize("target", ["kfp", "argo"])
def test_the_cli_export_parses_as_one_document(hostile, tmp_path, target):
    notebook, _ = hostile
    out = tmp_path / f"{target}.yaml"
    done = cli("export", notebook, "--target", target, "-o", out, cwd=notebook.parent)
    assert done.returncode == 0, done.stderr
    assert _yaml_defaults(target, out.read_text(encoding="utf-8")) == BREAKOUTS


def test_the_build_images_hint_is_one_quoted_argument(tmp_path):
    name = "a $(touch pwned) `id` 'b'.ipynb"
    notebook = write_notebook(tmp_path / name, code("a = 1", "step:only"))
    done = cli("export", name, "--target", "argo", "-o", "argo.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    hint = done.stdout.split("build their images with `", 1)[1].rsplit("`", 1)[0]
    assert shlex.split(hint) == ["nb2pipe", "build-images", name]
    assert notebook.exists() and not (tmp_path / "pwned").exists()
