"""Kubeflow Pipelines v2: the spec the kfp SDK compiles, and the same graph run by kfp.local."""

from __future__ import annotations

import pytest
import yaml
from exportkit import EXAMPLE, golden_images, golden_notebook, manifests
from kfp import components

from nb2pipe.compile.build import write_compiled
from nb2pipe.compile.compiler import compile_notebook
from nb2pipe.errors import Nb2PipeError
from nb2pipe.exports.dockerfile import build_files
from nb2pipe.exports.images import image_tags
from nb2pipe.exports.kfp import KfpTarget, kfp_memory, local_pipeline
from nb2pipe.runner import load_pipeline, run_pipeline


@pytest.fixture(scope="module")
def example():
    pipeline = compile_notebook(EXAMPLE)
    images = image_tags(pipeline, build_files(pipeline, notebook_path=EXAMPLE))
    spec = yaml.safe_load(KfpTarget().export(pipeline, images))
    return pipeline, images, spec


def _executor(spec: dict, step: str) -> dict:
    return spec["deploymentSpec"]["executors"][f"exec-{step.replace('_', '-')}"]["container"]


def _task(spec: dict, step: str) -> dict:
    return spec["root"]["dag"]["tasks"][step.replace("_", "-")]


def test_each_step_is_a_container_component_running_its_image(example):
    pipeline, images, spec = example
    for step in pipeline.steps:
        container = _executor(spec, step.name)
        assert container["image"] == images[step.name]
        assert container["command"] == ["python", "-m", "nb2pipe.exports.launch"]
        assert container["args"][:4] == [
            "--step",
            step.name,
            "--notebook",
            "/opt/nb2pipe/step.ipynb",
        ]


def test_notebook_parameters_are_pipeline_parameters(example):
    pipeline, _, spec = example
    inputs = spec["root"]["inputDefinitions"]["parameters"]
    assert set(inputs) == {p.name for p in pipeline.params}
    assert inputs["n_estimators"]["parameterType"] == "NUMBER_INTEGER"
    assert inputs["test_size"]["parameterType"] == "NUMBER_DOUBLE"
    assert inputs["test_size"]["defaultValue"] == 0.25
    train = _task(spec, "train")["inputs"]["parameters"]
    assert set(train) == set(pipeline.step("train").params)
    assert train["C"] == {"componentInputParameter": "C"}


def test_artifacts_flow_as_kfp_artifacts_between_the_steps(example):
    _, _, spec = example
    evaluate = _task(spec, "evaluate")
    artifacts = evaluate["inputs"]["artifacts"]
    assert set(artifacts) == {
        "scaled_features_artifacts",
        "poly_features_artifacts",
        "train_artifacts",
    }
    assert artifacts["train_artifacts"]["taskOutputArtifact"] == {
        "outputArtifactKey": "artifacts",
        "producerTask": "train",
    }
    assert set(evaluate["dependentTasks"]) == {"scaled-features", "poly-features", "train"}
    output = spec["components"]["comp-load"]["outputDefinitions"]["artifacts"]["artifacts"]
    assert output["artifactType"]["schemaTitle"] == "system.Artifact"


def test_resource_tags_become_limits(example):
    _, _, spec = example
    assert _executor(spec, "poly_features")["resources"]["resourceCpuLimit"] == "1"
    assert _executor(spec, "poly_features")["resources"]["resourceMemoryLimit"] == "1Gi"
    assert _executor(spec, "train")["resources"]["resourceCpuLimit"] == "2"
    assert "resources" not in _executor(spec, "load")


def test_cache_retries_gpu_timeout_and_after_tags(tmp_path):
    pipeline = compile_notebook(golden_notebook(tmp_path))
    spec = yaml.safe_load(KfpTarget().export(pipeline, golden_images(pipeline)))
    total, make = _task(spec, "total"), _task(spec, "make")
    assert total["cachingOptions"] == {}  # cache:off
    assert make["cachingOptions"] == {"enableCache": True}
    assert total["retryPolicy"]["maxRetryCount"] == 2
    assert _executor(spec, "total")["resources"]["accelerator"]["resourceCount"] == "1"
    assert _executor(spec, "total")["args"][-2:] == ["--timeout", "600.0"]
    assert _executor(spec, "make")["resources"]["resourceMemoryLimit"] == str(3 * 2**29)
    # after:total carries no data, but orders the steps.
    assert set(_task(spec, "side")["dependentTasks"]) == {"make", "total"}
    # A tuple and None are no KFP types: those parameters keep their notebook values.
    assert set(spec["root"]["inputDefinitions"]["parameters"]) == {
        "n",
        "scale",
        "label",
        "verbose",
        "weights",
    }


def test_the_spec_reads_back_as_a_kfp_component(example, tmp_path):
    pipeline, images, _ = example
    path = tmp_path / "example.yaml"
    path.write_text(KfpTarget().export(pipeline, images), encoding="utf-8")
    component = components.load_component_from_file(str(path))
    assert component.name == "breast-cancer-diagnosis"
    assert set(component.component_spec.inputs) == {p.name for p in pipeline.params}


def test_memory_tags_are_converted_to_what_kfp_accepts():
    assert kfp_memory("1Gi") == "1Gi"
    assert kfp_memory("512k") == "512K"
    assert kfp_memory("1.5Gi") == str(3 * 2**29)
    assert kfp_memory("0.5G") == "500000000"
    with pytest.raises(Nb2PipeError):
        kfp_memory("lots")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Task .* have no effect in the current local runner")
def test_the_example_runs_in_kfp_local_with_the_local_runners_artifacts(tmp_path):
    """The same graph with lightweight components (SubprocessRunner runs no containers) on the
    same step notebooks: every step's artifacts equal the local runner's, byte for byte."""
    from kfp import local

    params = {"n_estimators": 40, "test_size": 0.3}
    pipeline = compile_notebook(EXAMPLE)
    compiled = tmp_path / "compiled"
    write_compiled(pipeline, compiled, EXAMPLE)
    graph = local_pipeline(pipeline, compiled / "steps", tmp_path / "components")
    root = tmp_path / "kfp-root"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    graph(**params)
    (run,) = root.iterdir()
    steps = [s.name for s in pipeline.steps]
    kfp_side = manifests(run, steps, name=lambda step: step.replace("_", "-"))

    reference = run_pipeline(
        *load_pipeline(EXAMPLE), params=params, workspace=tmp_path / "ws", max_parallel=2
    )
    assert reference.ok, reference.failure()
    assert kfp_side == manifests(reference.run_dir, steps)
    assert kfp_side["evaluate"]["metrics"]["accuracy"] > 0.8


def test_the_spec_does_not_depend_on_how_other_libraries_patched_pyyaml(example):
    """Hera, imported for Argo validation, replaces PyYAML's str representer process-wide."""
    pipeline, images, _ = example
    before = KfpTarget().export(pipeline, images)

    def quote_everything(dumper, data):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="'")

    classes = (yaml.Dumper, yaml.representer.SafeRepresenter)
    saved = {cls: cls.__dict__.get("yaml_representers") for cls in classes}
    saved = {cls: None if table is None else dict(table) for cls, table in saved.items()}
    yaml.add_representer(str, quote_everything)  # what Hera does
    yaml.representer.SafeRepresenter.add_representer(str, quote_everything)
    try:
        assert KfpTarget().export(pipeline, images) == before
        assert yaml.dump("n") == "'n'\n"  # the patch is still there afterwards
    finally:
        for cls, table in saved.items():
            if table is None:
                del cls.yaml_representers
            else:
                cls.yaml_representers = table
    assert yaml.dump("n") == yaml.safe_dump("n") == "n\n...\n"
