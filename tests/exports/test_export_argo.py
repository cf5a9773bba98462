"""Argo Workflows: rendered from a template, validated against Hera's models of Argo's schema."""

from __future__ import annotations

import pytest
import yaml
from exportkit import EXAMPLE, golden_images, golden_notebook

from nb2pipe.compile.compiler import compile_notebook
from nb2pipe.errors import Nb2PipeError
from nb2pipe.exports.argo import ArgoTarget, render_workflow, validate


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    pipeline = compile_notebook(golden_notebook(tmp_path_factory.mktemp("argo")))
    text = ArgoTarget().export(pipeline, golden_images(pipeline))
    return pipeline, text, yaml.safe_load(text)


def _template(workflow: dict, name: str) -> dict:
    (found,) = [t for t in workflow["spec"]["templates"] if t["name"] == name]
    return found


def _task(workflow: dict, name: str) -> dict:
    (found,) = [t for t in _template(workflow, "main")["dag"]["tasks"] if t["name"] == name]
    return found


def test_the_example_exports_to_a_valid_workflow():
    pipeline = compile_notebook(EXAMPLE)
    images = {s.name: f"nb2pipe-wine-{s.name}:x" for s in pipeline.steps}
    text = ArgoTarget().export(pipeline, images)  # validates
    workflow = yaml.safe_load(text)
    assert workflow["kind"] == "Workflow"
    assert [t["name"] for t in _template(workflow, "main")["dag"]["tasks"]] == [
        "load",
        "scaled-features",
        "poly-features",
        "train",
        "evaluate",
    ]
    from hera.workflows.models import Workflow

    assert Workflow.model_validate(workflow).spec.entrypoint == "main"


def test_parameters_and_artifacts_follow_the_local_contract(small):
    pipeline, _, workflow = small
    arguments = {p["name"]: p["value"] for p in workflow["spec"]["arguments"]["parameters"]}
    assert arguments == {
        "n": "5",
        "scale": "2.0",
        "label": "demo",
        "verbose": "false",
        "weights": "[1, 2]",
    }
    total = _task(workflow, "total")
    assert total["dependencies"] == ["make"]
    assert total["arguments"]["artifacts"] == [
        {"name": "make", "from": "{{tasks.make.outputs.artifacts.artifacts}}"}
    ]
    template = _template(workflow, "total")
    assert template["inputs"]["artifacts"] == [{"name": "make", "path": "/tmp/nb2pipe/inputs/make"}]
    assert template["outputs"]["artifacts"] == [
        {"name": "artifacts", "path": "/tmp/nb2pipe/output"}
    ]
    args = template["container"]["args"]
    assert args[args.index("--param") : args.index("--param") + 4] == [
        "--param",
        "weights",
        "json",
        "{{inputs.parameters.weights}}",
    ]
    assert template["container"]["image"] == "registry.example/nb2pipe-small-total:golden"


def test_resources_retries_and_after_tags(small):
    _, _, workflow = small
    total = _template(workflow, "total")
    assert total["retryStrategy"] == {"limit": 2}
    assert total["container"]["resources"]["limits"] == {"nvidia.com/gpu": "1"}
    make = _template(workflow, "make")["container"]["resources"]["limits"]
    assert make == {"cpu": "500m", "memory": "1.5Gi"}
    assert _task(workflow, "side")["dependencies"] == ["make", "total"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("    retryStrategy:", "    retryStrategyy:"), "unknown or misplaced field at spec"),
        (("      limit: 2", "      limit: [2]"), "retryStrategy.limit"),
        (("      image: ", "      imag: "), r"templates\[1\].container.imag"),
        (("        dependencies:", "        depends_on:"), "misplaced field"),
        (("kind: Workflow", "kind: [Workflow]"), "kind"),
    ],
)
def test_invalid_workflows_are_refused(small, change, message):
    _, text, _ = small
    broken = text.replace(*change, 1)
    assert broken != text
    with pytest.raises(Nb2PipeError, match=message):
        validate(broken)


def test_the_export_is_the_rendered_template(small):
    pipeline, text, _ = small
    assert render_workflow(pipeline, golden_images(pipeline)) == text
