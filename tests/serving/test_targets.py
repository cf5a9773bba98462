"""Beyond this machine: a KServe InferenceService validated against KServe's published CRD
schema, and the serving image built with podman, answering what the local service answers."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from support.notebooks import code, write_notebook
from support.project import cli, error_lines
from support.servers import free_port, unavailable
from support.serving import MODEL, features, publish_champion

from jupyter_mlops.serving import image, kserve

DATA = Path(__file__).parent.parent / "data" / "kserve"
SCHEMA = DATA / "inferenceservice-v1beta1.openapi.json.gz"
BASE_IMAGE = os.environ.get("NB2PIPE_TEST_BASE_IMAGE", "localhost/nb2pipe-test-base:bookworm")
CONTAINERS_CONF = Path(os.environ.get("NB2PIPE_CONTAINERS_CONF", "/etc/containers/nb2pipe.conf"))


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    root = tmp_path_factory.mktemp("targets")
    return publish_champion(root), root


# --- KServe ----------------------------------------------------------------------------------


def schema() -> dict:
    return json.loads(gzip.decompress(SCHEMA.read_bytes()))


def problems(document: dict) -> list[str]:
    """What the CRD's schema refuses in `document`, as the API server would: types, required
    fields, enums, and (structural schemas prune them, `kubectl --validate=strict` refuses
    them) fields the schema does not know."""
    from jsonschema import Draft7Validator

    spec = schema()
    found = [f"{list(e.path)}: {e.message}" for e in Draft7Validator(spec).iter_errors(document)]

    def unknown(value, node, where):
        if not isinstance(node, dict) or node.get("x-kubernetes-preserve-unknown-fields"):
            return
        if isinstance(value, dict):
            known = node.get("properties")
            extra = node.get("additionalProperties")
            for key, item in value.items():
                if known is not None and key in known:
                    unknown(item, known[key], f"{where}.{key}")
                elif isinstance(extra, dict):
                    unknown(item, extra, f"{where}.{key}")
                elif known is not None and key not in ("apiVersion", "kind"):
                    found.append(f"{where}.{key}: not in the schema")
        elif isinstance(value, list):
            for k, item in enumerate(value):
                unknown(item, node.get("items"), f"{where}[{k}]")

    unknown(document, spec, "")
    return found


def test_the_kserve_schema_is_kserves_and_refuses_what_it_should():
    source = (DATA / "SOURCE.md").read_text()
    assert "kserve/kserve" in source and "serving.kserve.io_inferenceservices.yaml" in source
    good = kserve.manifest("m", "1", "s3://bucket/m", canary=10, resources={"cpu": "2"})
    assert problems(good) == []
    bad = json.loads(json.dumps(good))
    bad["spec"]["predictor"]["canaryTrafficPercent"] = "ten"
    bad["spec"]["predictor"]["model"]["storageURI"] = "s3://bucket/m"
    del bad["spec"]["predictor"]["model"]["modelFormat"]["name"]
    found = " | ".join(problems(bad))
    assert "'ten' is not of type 'integer'" in found
    assert "storageURI: not in the schema" in found
    assert "'name' is a required property" in found


def test_deploy_to_kserve_writes_a_valid_inference_service(registry, tmp_path):
    uri, _ = registry
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri, uri)
    client.set_model_version_tag(MODEL, "1", "resources.cpu", "2")
    client.set_model_version_tag(MODEL, "1", "resources.memory", "4Gi")
    env = {"MLFLOW_TRACKING_URI": uri}
    out = tmp_path / "deploy"
    done = cli(
        "deploy",
        MODEL,
        "--target",
        "kserve",
        "-o",
        out,
        "--storage-uri",
        "s3://models/served/1",
        cwd=tmp_path,
        **env,
    )
    assert done.returncode == 0, done.stderr
    path = out / "served-inferenceservice.yaml"
    assert done.stdout.strip().endswith(path.name)
    document = yaml.safe_load(path.read_text())
    assert problems(document) == []
    model = document["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": "mlflow"} and model["protocolVersion"] == "v2"
    assert model["storageUri"] == "s3://models/served/1"
    assert model["resources"]["limits"] == {"cpu": "2", "memory": "4Gi"}
    assert "canaryTrafficPercent" not in document["spec"]["predictor"]
    first = path.read_bytes()
    kserve.write_inference_service(MODEL, out, tracking_uri=uri, storage_uri="s3://models/served/1")
    assert path.read_bytes() == first  # deterministic

    # A canary: the challenger's revision, taking its share.
    client.set_registered_model_alias(MODEL, "challenger", "1")
    canary = kserve.write_inference_service(
        MODEL, tmp_path / "canary", tracking_uri=uri, canary=20, storage_uri="s3://models/c"
    )
    document = yaml.safe_load(canary.read_text())
    assert problems(document) == []
    assert document["spec"]["predictor"]["canaryTrafficPercent"] == 20

    # The registry's own files are on this machine: a cluster could not read them.
    done = cli("deploy", MODEL, "--target", "kserve", "-o", out, cwd=tmp_path, **env)
    assert done.returncode == 2
    [line] = error_lines(done.stderr)
    assert "which a cluster cannot read: give --storage-uri" in line
    done = cli("deploy", MODEL, "--target", "kserve", cwd=tmp_path, **env)
    assert done.returncode == 2 and "needs -o DIR" in error_lines(done.stderr)[0]


def test_resources_come_from_the_step_tags(tmp_path):
    from jupyter_mlops.registry.publish_run import step_resources
    from nb2pipe.compile.compiler import compile_notebook
    from nb2pipe.compile.pipeline_file import dump

    notebook = write_notebook(
        tmp_path / "train.ipynb",
        code("n = 3", "parameters"),
        code("data = list(range(n))", "step:load"),
        code("model = sum(data)", "step:train", "cpu:2", "memory:4Gi", "gpu:1"),
    )
    (tmp_path / "pipeline.yaml").write_text(dump(compile_notebook(notebook)))
    run = SimpleNamespace(path=tmp_path)
    assert step_resources(run, "train") == {
        "resources.cpu": "2",
        "resources.memory": "4Gi",
        "resources.gpu": "1",
    }
    assert step_resources(run, "load") == {}


# --- the serving image, under podman ----------------------------------------------------------


def podman_env() -> dict[str, str]:
    env = {}
    if "CONTAINERS_CONF" not in os.environ and CONTAINERS_CONF.is_file():
        env["CONTAINERS_CONF"] = str(CONTAINERS_CONF)
    return env


def require_podman() -> None:
    if shutil.which("podman") is None:
        unavailable("podman is not installed: run tests/exports/setup_podman.sh")
    found = subprocess.run(
        ["podman", "image", "exists", BASE_IMAGE], env={**os.environ, **podman_env()}
    )
    if found.returncode != 0:
        unavailable(f"base image {BASE_IMAGE} is missing: run tests/exports/setup_podman.sh")


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the first build installs the model's requirements from PyPI
def test_the_serving_image_answers_what_the_local_service_answers(registry, tmp_path, monkeypatch):
    require_podman()
    uri, _ = registry
    env = {"MLFLOW_TRACKING_URI": uri, **podman_env()}
    for key, value in podman_env().items():
        monkeypatch.setenv(key, value)
    # Checked where it will run: the image builds, starts, answers its rows as recorded.
    done = cli(
        "deploy",
        "check",
        f"{MODEL}/1",
        "--target",
        "docker",
        "--base",
        BASE_IMAGE,
        cwd=tmp_path,
        timeout=1800,
        **env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok: predictions: 5 equal to those recorded at publish" in done.stdout
    assert f"{MODEL} version 1 passed (podman image nb2pipe-serve-served:v1-" in done.stdout

    done = cli(
        "deploy",
        f"{MODEL}/1",
        "--target",
        "docker",
        "--base",
        BASE_IMAGE,
        "-o",
        tmp_path / "context",
        cwd=tmp_path,
        timeout=1800,
        **env,
    )
    assert done.returncode == 0, done.stderr
    ref = done.stdout.split()[1]
    assert "Dockerfile" in os.listdir(tmp_path / "context")

    from jupyter_mlops.serving.server import serve_in_thread

    batch = features(20, seed=5)
    local = serve_in_thread(f"{MODEL}/1", log=tmp_path / "local.jsonl", tracking_uri=uri)
    container = image.run(
        image.BuiltImage(ref, "podman", tmp_path / "context", "present"), free_port()
    )
    try:
        payload = json.dumps(
            {"dataframe_split": json.loads(batch.to_json(orient="split", index=False))}
        ).encode()
        assert container.post(payload)["predictions"] == local.predict(batch)["predictions"]
    finally:
        container.stop()
        local.stop()
